using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Pipeline;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using CoreSupernetTrainer = Sgnas.Training.SupernetTrainer;

namespace Sgnas.MLNet;

/// <summary>
/// Stage 2 of SGNAS as an ML.NET estimator. <see cref="Fit"/> reads images and trains the architecture generator on
/// the frozen supernet of the run folder (paper Algorithm 1) on the supernet's validation split. The returned
/// <see cref="GeneratorTransformer"/> reads a column of target FLOPs and adds, for all rows in ONE batched generator
/// pass, the generated architecture, its exact FLOPs and parameters. Because Fit and Transform read different data,
/// <see cref="GetOutputSchema"/> describes Transform: it needs the target column.
/// </summary>
public sealed class GeneratorSearch : IEstimator<GeneratorTransformer>
{
    /// <summary>Options of <see cref="GeneratorSearch"/>.</summary>
    public sealed class Options : SgnasEstimatorOptions
    {
        /// <summary>Generator training options (epochs, λ, temperature, prior buckets, ...).</summary>
        public GeneratorOptions Training { get; set; } = new();
        /// <summary>Column of target FLOPs in M (Single or Double) read by the transformer.</summary>
        public string TargetColumnName { get; set; } = "TargetFlopsM";
        /// <summary>Repair generated architectures that exceed their target (cheapest change in predicted loss).</summary>
        public bool HardLimit { get; set; }
        /// <summary>Use at most this many validation images per epoch; null uses the whole split.</summary>
        public int? MaxValidationImages { get; set; }
    }

    private readonly Options _options;

    /// <summary>Seed and log of the MLContext whose catalog created this estimator.</summary>
    internal SgnasHost Host { get; init; } = SgnasHost.None;

    /// <summary>Creates the estimator. The options are read, never written.</summary>
    public GeneratorSearch(Options options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (string.IsNullOrWhiteSpace(options.RunFolder))
            throw new ArgumentException("GeneratorSearch.Options.RunFolder must name a folder with a trained supernet (from SupernetTrainer or 'sgnas train-supernet').", nameof(options));
        options.Training.Validate();
    }

    /// <inheritdoc />
    public GeneratorTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        // The generator belongs to the supernet of RunFolder: always that folder (a refit retrains the generator there).
        var o = _options.ResolveForFit<Options>(Host, continueRun: true, stage: "generator");
        var run = new RunFolder(o.RunFolder!);
        run.RequireSupernet();
        var preset = SupernetCheckpoint.ReadPreset(run);
        SchemaChecks.CheckImageColumns(input.Schema, o.LabelColumnName, o.FeatureColumnName, preset, needLabel: true);
        var data = input.ToImageDataset(o.LabelColumnName, o.FeatureColumnName);
        var model = Train(run, data, o, o.Training, o.MaxValidationImages);
        return new GeneratorTransformer(model, o.TargetColumnName, o.HardLimit);
    }

    internal static ArchitectureGeneratorModel Train(RunFolder run, ImageDataset data, SgnasEstimatorOptions o, GeneratorOptions training, int? maxValidationImages,
        bool resume = false)
    {
        var device = DeviceSelector.Resolve(o.Device);
        // A fresh training starts from epoch 1 (the estimator's documented behaviour); only a resume continues the checkpoint.
        if (!resume && Directory.Exists(run.GeneratorTrainingDir)) Directory.Delete(run.GeneratorTrainingDir, recursive: true);
        var (supernet, _) = SupernetCheckpoint.Load(run, device);
        using (supernet)
        {
            // The generator learns on the images the supernet did not train on: the supernet's own validation split.
            var split = CoreSupernetTrainer.Split(data, CoreSupernetTrainer.ReadOptions(run));
            var val = split.Validation;
            if (maxValidationImages is { } m && m < val.Length) val = val.Take(m).ToArray();
            var norm = new ChannelNormalization(supernet.Preset.Mean.ToArray(), supernet.Preset.Std.ToArray());
            var model = new GeneratorTrainer(supernet, training with { Seed = o.SeedValue }, device)
                .Train(data, val, norm, o.Progress, o.CancellationToken, new GeneratorCheckpoint(run.GeneratorTrainingDir, resume));
            model.Save(run);
            return model;
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema) =>
        GeneratorTransformer.OutputShape(inputSchema, _options.TargetColumnName);
}

/// <summary>
/// A trained architecture generator: maps a column of target FLOPs to <c>Architecture</c> (text),
/// <c>FlopsM</c>, <c>ParamsM</c> and <c>Repaired</c>, with one batched generator forward pass for all rows.
/// The generator lives in the run folder (<c>generator.pt</c>, <c>generator.json</c>); ML.NET cannot save it into a
/// .zip (its saving interfaces are internal), so reload it with <see cref="Load"/>.
/// </summary>
public sealed class GeneratorTransformer : ITransformer, IDisposable
{
    /// <summary>Output column names.</summary>
    public const string ArchitectureColumn = "Architecture", FlopsColumn = "FlopsM", ParamsColumn = "ParamsM", RepairedColumn = "Repaired";

    private readonly string _target;
    private readonly bool _hardLimit;

    internal GeneratorTransformer(ArchitectureGeneratorModel model, string targetColumn, bool hardLimit)
    {
        Model = model; _target = targetColumn; _hardLimit = hardLimit;
    }

    /// <summary>The trained generator with its prior pool and constraint interval.</summary>
    public ArchitectureGeneratorModel Model { get; }

    /// <summary>Loads the generator of a run folder.</summary>
    public static GeneratorTransformer Load(string runFolder, string targetColumn = "TargetFlopsM", bool hardLimit = false, string device = "cpu")
    {
        var run = new RunFolder(runFolder);
        run.RequireGenerator();
        return new GeneratorTransformer(ArchitectureGeneratorModel.Load(run, DeviceSelector.Resolve(device)), targetColumn, hardLimit);
    }

    /// <summary>Generates architectures for <paramref name="targetsM"/> in one batched pass (no ML.NET involved).</summary>
    public IReadOnlyList<GeneratedArchitecture> Generate(IReadOnlyList<double> targetsM) => Model.Generate(targetsM, _hardLimit);

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckTarget(inputSchema);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema);
        foreach (var (name, type) in OutputColumns) b.AddColumn(name, type);
        return b.ToSchema();
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) =>
        throw new NotSupportedException("The generator maps all rows in one batched pass; use Transform, not a row-to-row mapper or PredictionEngine.");

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var col = CheckTarget(input.Schema);
        var targets = new List<double>();
        using (var cursor = input.GetRowCursor(new[] { col }))
        {
            if (col.Type == NumberDataViewType.Double)
            {
                var get = cursor.GetGetter<double>(col); double v = 0;
                while (cursor.MoveNext()) { get(ref v); targets.Add(v); }
            }
            else
            {
                var get = cursor.GetGetter<float>(col); float v = 0;
                while (cursor.MoveNext()) { get(ref v); targets.Add(v); }
            }
        }
        var generated = targets.Count == 0 ? Array.Empty<GeneratedArchitecture>() : Model.Generate(targets, _hardLimit).ToArray();
        return new AppendedColumnsDataView(input, new[]
        {
            new PrecomputedColumn(ArchitectureColumn, TextDataViewType.Instance, generated.Select(g => g.Architecture.ToString().AsMemory()).ToArray()),
            new PrecomputedColumn(FlopsColumn, NumberDataViewType.Double, generated.Select(g => g.FlopsM).ToArray()),
            new PrecomputedColumn(ParamsColumn, NumberDataViewType.Double, generated.Select(g => g.ParamsM).ToArray()),
            new PrecomputedColumn(RepairedColumn, BooleanDataViewType.Instance, generated.Select(g => g.Repaired).ToArray()),
        });
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        $"A generator cannot be saved into an ML.NET .zip; it is already saved in its run folder. Reload it with GeneratorTransformer.Load(\"{Model.Preset.Name} run folder\").");

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();

    private static readonly (string, DataViewType)[] OutputColumns =
    {
        (ArchitectureColumn, TextDataViewType.Instance), (FlopsColumn, NumberDataViewType.Double),
        (ParamsColumn, NumberDataViewType.Double), (RepairedColumn, BooleanDataViewType.Instance),
    };

    private DataViewSchema.Column CheckTarget(DataViewSchema schema)
    {
        var col = schema.GetColumnOrNull(_target) ?? throw new ArgumentOutOfRangeException(nameof(schema),
            $"Target column '{_target}' not found: the generator needs a Single or Double column of target FLOPs in M.");
        if (col.Type != NumberDataViewType.Single && col.Type != NumberDataViewType.Double)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Target column '{_target}' must be Single or Double (FLOPs in M); it is {col.Type}.");
        return col;
    }

    internal static SchemaShape OutputShape(SchemaShape input, string target)
    {
        var t = SchemaChecks.Find(input, target) ?? throw new ArgumentOutOfRangeException(nameof(input),
            $"Target column '{target}' not found: the generator's transformer needs a Single or Double column of target FLOPs in M.");
        if (t.Kind != SchemaShape.Column.VectorKind.Scalar || (t.ItemType != NumberDataViewType.Single && t.ItemType != NumberDataViewType.Double))
            throw new ArgumentOutOfRangeException(nameof(input), $"Target column '{target}' must be a Single or Double scalar.");
        return SchemaChecks.AddColumns(input, OutputColumns);
    }
}
