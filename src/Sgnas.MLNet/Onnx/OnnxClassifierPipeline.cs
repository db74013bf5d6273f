using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.Transforms;
using Microsoft.ML.Transforms.Onnx;
using Sgnas.Data;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.Onnx;

namespace Sgnas.MLNet.Onnx;

/// <summary>Column and ONNX value names of <see cref="OnnxClassifierPipeline"/>.</summary>
public sealed record OnnxClassifierOptions
{
    /// <summary>Pixel column fed to the model; also the ONNX input name (ML.NET binds them by name).</summary>
    public string FeaturesColumnName { get; init; } = ChildNetworkOnnxExportOptions.MLNetInputName;

    /// <summary>Probabilities column; also the name of the ONNX softmax output.</summary>
    public string ScoreColumnName { get; init; } = ChildNetworkOnnxExportOptions.MLNetProbabilitiesName;

    /// <summary>Name of the ONNX int64 argmax output (a helper column, dropped at the end of the chain).</summary>
    public string PredictedIndexName { get; init; } = ChildNetworkOnnxExportOptions.MLNetPredictedIndexName;

    /// <summary>Predicted class column: a key with one value per class, like the <c>Label</c> column.</summary>
    public string PredictedLabelColumnName { get; init; } = "PredictedLabel";

    /// <summary>
    /// ONNX Runtime threads inside one operator for the transformer fitted in this process; null lets ONNX Runtime
    /// choose (all cores). A .zip loaded elsewhere uses ML.NET's setting for the loaded transformer.
    /// </summary>
    public int? IntraOpThreads { get; init; }
}

/// <summary>
/// The deployment half of the ML.NET integration (docs/design.md §6): an ML.NET estimator that scores images with
/// an exported SGNAS network through ML.NET's own ONNX transformer, so that the fitted chain saves with
/// <c>mlContext.Model.Save</c> into one .zip that holds the ONNX bytes and loads with <c>mlContext.Model.Load</c>
/// where only Microsoft.ML and Microsoft.ML.OnnxTransformer are referenced (no TorchSharp, no Sgnas assembly).
/// </summary>
/// <remarks>
/// <para>Output columns (input columns pass through):</para>
/// <list type="bullet">
/// <item><c>Score</c>: known-size vector of Single, K class probabilities (softmax computed in the graph), as
/// ML.NET multiclass trainers produce; dimensions [1, K] because ML.NET scores one row at a time and reads the
/// symbolic batch dimension N of the ONNX output as 1 (no shape dictionary needed). Its <c>SlotNames</c> are the
/// class names when the export wrote them (<see cref="ChildNetworkOnnxExportOptions.ClassNames"/>), so the
/// evaluator's confusion matrix is labelled.</item>
/// <item><c>PredictedLabel</c>: key over UInt32 with K values (raw value = class index + 1, 0 = missing), KeyValues
/// = the class names, the type of the <c>Label</c> column of the <c>SgnasDataCatalog</c> sources.</item>
/// </list>
/// <para>Why the chain has three more steps: ML.NET reads every ONNX tensor output as a vector (the argmax is a
/// Vector&lt;Int64, 1&gt;), fails on rank-0 outputs, and has no public transform from a one-slot vector to a scalar
/// or from a vector to its argmax. Hashing with <c>combine</c> is the one public, saveable transform that turns a
/// vector into a scalar key; the hash of each class index is computed once here and a value map turns it back into
/// the class key. The argmax itself is the ONNX ArgMax of the logits (first maximum on ties, as torch.argmax).</para>
/// </remarks>
public static class OnnxClassifierPipeline
{
    // Hash of the argmax; collisions between the K class indices are checked and another seed is tried.
    private const int HashBits = 31;
    private const uint FirstHashSeed = 0x53474E41; // "SGNA"
    private const int HashSeedAttempts = 16;

    /// <summary>
    /// Builds the estimator for an ONNX classifier that takes <see cref="OnnxClassifierOptions.FeaturesColumnName"/>
    /// [N, D] and outputs probabilities [N, K] and an int64 argmax [N] (what
    /// <see cref="ChildNetworkOnnxExportOptions.ForMLNet"/> exports).
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="onnxPath">The ONNX model; read when the estimator is fitted (its bytes then live in the model).</param>
    /// <param name="classCount">K, the number of classes.</param>
    /// <param name="classNames">Class names (KeyValues of <c>PredictedLabel</c>); null names them "0".."K−1".</param>
    /// <param name="options">Column names; null for the defaults.</param>
    /// <exception cref="FileNotFoundException">The ONNX file does not exist.</exception>
    /// <exception cref="InvalidDataException">The ONNX model lacks the input or outputs, or their types or sizes differ.</exception>
    /// <exception cref="ArgumentException">Class names are not K distinct non-empty strings.</exception>
    public static OnnxClassifierEstimator Create(MLContext mlContext, string onnxPath, int classCount,
        IReadOnlyList<string>? classNames = null, OnnxClassifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentException.ThrowIfNullOrWhiteSpace(onnxPath);
        if (classCount < 2) throw new ArgumentOutOfRangeException(nameof(classCount), classCount, "A classifier needs at least two classes.");
        var o = options ?? new OnnxClassifierOptions();
        string path = Path.GetFullPath(onnxPath);
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model '{path}' does not exist.", path);

        var names = ClassNames(classNames, classCount);
        int featureCount = CheckModel(path, o, classCount);
        var (seed, hashes) = ClassHashes(mlContext, o, classCount);

        string hashColumn = o.PredictedIndexName + ".Hash";
        var onnx = new OnnxOptions
        {
            ModelFile = path,
            InputColumns = new[] { o.FeaturesColumnName },
            OutputColumns = new[] { o.ScoreColumnName, o.PredictedIndexName },
            IntraOpNumThreads = o.IntraOpThreads,
        };
        var chain = mlContext.Transforms.ApplyOnnxModel(onnx)
            .Append(mlContext.Transforms.Conversion.Hash(new[] { HashOptions(hashColumn, o.PredictedIndexName, seed) }))
            .Append(mlContext.Transforms.Conversion.MapValue(o.PredictedLabelColumnName,
                hashes.Select((h, k) => new KeyValuePair<uint, string>(h, names[k])), hashColumn, treatValuesAsKeyType: true))
            .Append(mlContext.Transforms.DropColumns(o.PredictedIndexName, hashColumn));
        return new OnnxClassifierEstimator(chain, path, o, classCount, featureCount, names);
    }

    /// <summary>
    /// Exports <paramref name="network"/> with <see cref="ChildNetworkOnnxExportOptions.ForMLNet"/> to
    /// <c>model.onnx</c> in <paramref name="outputFolder"/> (the <see cref="RunFolder"/> layout) and builds the
    /// estimator for it.
    /// </summary>
    /// <param name="mlContext">The ML.NET context.</param>
    /// <param name="network">The retrained network (exported in eval mode semantics whatever its mode).</param>
    /// <param name="pixelNormalization">The normalisation the network was trained with; the model takes raw pixels.</param>
    /// <param name="outputFolder">Folder of <c>model.onnx</c>.</param>
    /// <param name="classNames">Class names; null names them "0".."K−1".</param>
    public static OnnxClassifierEstimator Create(MLContext mlContext, ChildNetwork network, ChannelNormalization pixelNormalization,
        string outputFolder, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        string onnxPath = new RunFolder(outputFolder).Onnx;
        ChildNetworkOnnxExporter.Save(network, onnxPath, ChildNetworkOnnxExportOptions.ForMLNet(pixelNormalization, classNames: classNames));
        // What the network is travels inside the ONNX bytes (and so inside every .zip): SgnasModelInfo.Read.
        var preset = network.Preset;
        var cost = Sgnas.Cost.FlopsCounter.Count(network, preset.InputChannels, preset.InputSize);
        SgnasModelInfo.AppendMetadata(onnxPath, new SgnasModelInfo
        {
            Architecture = network.Architecture.ToString(), FlopsM = cost.FlopsM, ParamsM = cost.ParamsM, Preset = preset.Name,
            InputChannels = preset.InputChannels, InputSize = preset.InputSize,
            ClassNames = ClassNames(classNames, preset.NumClasses),
        }.ToMetadata());
        return Create(mlContext, onnxPath, network.Preset.NumClasses, classNames);
    }

    /// <summary>
    /// Saves a fitted chain with <c>mlContext.Model.Save</c> atomically (a crash never leaves a torn .zip).
    /// </summary>
    public static void Save(MLContext mlContext, ITransformer model, DataViewSchema inputSchema, string path)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputSchema);
        AtomicFile.Write(path, s => mlContext.Model.Save(model, inputSchema, s));
    }

    private static IReadOnlyList<string> ClassNames(IReadOnlyList<string>? names, int classCount)
    {
        if (names is null) return Enumerable.Range(0, classCount).Select(k => k.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        if (names.Count != classCount)
            throw new ArgumentException($"{names.Count} class names were given for {classCount} classes.", nameof(names));
        if (names.Any(string.IsNullOrEmpty)) throw new ArgumentException("Class names must not be empty.", nameof(names));
        // The value map turns names into key values; equal names would merge two classes into one key.
        var dup = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new ArgumentException($"Class name '{dup.Key}' is given twice; names must be distinct.", nameof(names));
        return names.ToArray();
    }

    /// <summary>Checks the model's input and outputs against the options; returns the feature count D.</summary>
    private static int CheckModel(string path, OnnxClassifierOptions o, int classCount)
    {
        using var session = LoadSession(path);
        if (!session.InputMetadata.TryGetValue(o.FeaturesColumnName, out var input))
            throw new InvalidDataException(
                $"ONNX model '{path}' has no input '{o.FeaturesColumnName}' (inputs: {string.Join(", ", session.InputMetadata.Keys)}); export it with ChildNetworkOnnxExportOptions.ForMLNet.");
        if (input.ElementType != typeof(float) || input.Dimensions.Length != 2 || input.Dimensions[1] <= 0)
            throw new InvalidDataException(
                $"ONNX input '{o.FeaturesColumnName}' of '{path}' must be float [N, D]; it is {input.ElementType.Name} [{string.Join(", ", input.Dimensions)}].");
        Require(session, path, o.ScoreColumnName, typeof(float), 2, classCount, "float [N, K] probabilities");
        Require(session, path, o.PredictedIndexName, typeof(long), 1, null, "int64 [N] argmax");
        return input.Dimensions[1];
    }

    private static void Require(InferenceSession session, string path, string name, Type type, int rank, int? last, string what)
    {
        if (!session.OutputMetadata.TryGetValue(name, out var m))
            throw new InvalidDataException(
                $"ONNX model '{path}' has no output '{name}' (outputs: {string.Join(", ", session.OutputMetadata.Keys)}); it must output {what}.");
        if (m.ElementType != type || m.Dimensions.Length != rank || (last is int k && m.Dimensions[^1] != k))
            throw new InvalidDataException(
                $"ONNX output '{name}' of '{path}' must be {what}{(last is int kk ? $" with K = {kk}" : "")}; it is {m.ElementType.Name} [{string.Join(", ", m.Dimensions)}].");
    }

    private static InferenceSession LoadSession(string path)
    {
        try
        {
            using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
            return new InferenceSession(path, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"'{path}' is not a valid ONNX model: {e.Message}", e);
        }
    }

    private static HashingEstimator.ColumnOptions HashOptions(string output, string input, uint seed) =>
        new(output, input, numberOfBits: HashBits, seed: seed, useOrderedHashing: false, maximumNumberOfInverts: 0, combine: true);

    /// <summary>
    /// Runs the hash on the class indices 0..K−1 in the column type ML.NET gives the ONNX argmax (Vector&lt;Int64, 1&gt;),
    /// so the value map is built from the very transform the chain applies.
    /// </summary>
    private static (uint Seed, uint[] Hashes) ClassHashes(MLContext ml, OnnxClassifierOptions o, int classCount)
    {
        var schema = SchemaDefinition.Create(typeof(IndexRow));
        schema[0].ColumnName = o.PredictedIndexName;
        var rows = ml.Data.LoadFromEnumerable(Enumerable.Range(0, classCount).Select(k => new IndexRow { Index = new long[] { k } }), schema);
        for (int attempt = 0; attempt < HashSeedAttempts; attempt++)
        {
            uint seed = FirstHashSeed + (uint)attempt;
            const string column = "hash";
            var hashed = ml.Transforms.Conversion.Hash(new[] { HashOptions(column, o.PredictedIndexName, seed) }).Fit(rows).Transform(rows);
            var hashes = new uint[classCount];
            using (var cursor = hashed.GetRowCursor(new[] { hashed.Schema[column] }))
            {
                var get = cursor.GetGetter<uint>(hashed.Schema[column]);
                for (int k = 0; cursor.MoveNext(); k++) get(ref hashes[k]);
            }
            if (hashes.Distinct().Count() == classCount) return (seed, hashes);
        }
        throw new InvalidOperationException($"No collision-free hash of {classCount} class indices in {HashSeedAttempts} seeds.");
    }

    private sealed class IndexRow
    {
        [VectorType(1)]
        public long[] Index { get; set; } = Array.Empty<long>();
    }
}

/// <summary>
/// Estimator of <see cref="OnnxClassifierPipeline"/>: checks the features column (clear errors instead of ML.NET's
/// shape messages) and fits the chain ApplyOnnxModel → Hash → MapValue → DropColumns. Only ML.NET's own
/// transformers end up in the fitted model, so it saves and loads without this assembly.
/// </summary>
public sealed class OnnxClassifierEstimator : IEstimator<ITransformer>
{
    private readonly IEstimator<ITransformer> _chain;

    internal OnnxClassifierEstimator(IEstimator<ITransformer> chain, string onnxPath, OnnxClassifierOptions options,
        int classCount, int featureCount, IReadOnlyList<string> classNames)
    {
        _chain = chain;
        OnnxPath = onnxPath;
        Options = options;
        ClassCount = classCount;
        FeatureCount = featureCount;
        ClassNames = classNames;
    }

    /// <summary>The ONNX file the estimator reads when fitted.</summary>
    public string OnnxPath { get; }

    /// <summary>Column names.</summary>
    public OnnxClassifierOptions Options { get; }

    /// <summary>K, the number of classes (size of <c>Score</c>, key count of <c>PredictedLabel</c>).</summary>
    public int ClassCount { get; }

    /// <summary>D, the length of the features vector the model takes (C·H·W).</summary>
    public int FeatureCount { get; }

    /// <summary>KeyValues of <c>PredictedLabel</c>, class index order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">The features column is missing or is not a Single vector of length D.</exception>
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var col = input.Schema.GetColumnOrNull(Options.FeaturesColumnName) ?? throw new ArgumentException(
            $"The data has no column '{Options.FeaturesColumnName}' (columns: {string.Join(", ", input.Schema.Select(c => c.Name))}).", nameof(input));
        if (col.Type is not VectorDataViewType v || v.ItemType != NumberDataViewType.Single || v.Size != FeatureCount)
            throw new ArgumentException(
                $"Column '{col.Name}' must be a vector of {FeatureCount} Single values (C·H·W raw pixels) for '{OnnxPath}'; it is {col.Type}.", nameof(input));
        return _chain.Fit(input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        var matches = inputSchema.Where(c => c.Name == Options.FeaturesColumnName).ToArray();
        if (matches.Length == 0)
            throw new ArgumentException($"The input has no column '{Options.FeaturesColumnName}'.", nameof(inputSchema));
        var col = matches[^1];
        if (col.Kind != SchemaShape.Column.VectorKind.Vector || col.ItemType != NumberDataViewType.Single)
            throw new ArgumentException($"Column '{col.Name}' must be a known-size vector of Single.", nameof(inputSchema));
        return _chain.GetOutputSchema(inputSchema);
    }
}
