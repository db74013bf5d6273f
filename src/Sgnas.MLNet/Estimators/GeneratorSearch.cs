using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Latency;
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
/// <para>
/// With <see cref="Options.LatencyTablePath"/> the generator is trained for latency budgets in ms against that
/// measured table (docs/latency.md): the transformer then reads a column of ms budgets (<c>TargetLatencyMs</c> by
/// default) and adds the table's prediction <c>PredictedMs</c>; with <see cref="Options.MeasureLatency"/> it also
/// measures every generated network in ONNX Runtime (<c>MeasuredMs</c>).
/// </para>
/// </summary>
public sealed class GeneratorSearch : IEstimator<GeneratorTransformer>
{
    /// <summary>Options of <see cref="GeneratorSearch"/>.</summary>
    public sealed class Options : SgnasEstimatorOptions
    {
        /// <summary>Generator training options (epochs, λ, temperature, prior buckets, ...).</summary>
        public GeneratorOptions Training { get; set; } = new();
        /// <summary>
        /// Column of budgets (Single or Double) read by the transformer: FLOPs in M, or ms when the generator is trained
        /// for latency. Null: <c>TargetFlopsM</c>, or <c>TargetLatencyMs</c> with <see cref="LatencyTablePath"/>.
        /// </summary>
        public string? TargetColumnName { get; set; }
        /// <summary>
        /// A latency table measured for the preset on the deployment machine (<c>sgnas latency-table</c>): the generator
        /// is then trained for latency budgets in ms (the Eq. 9 twin over the table) instead of FLOPs. Null: FLOPs.
        /// </summary>
        public string? LatencyTablePath { get; set; }
        /// <summary>
        /// When set, the transformer also measures each generated network in ONNX Runtime with these settings and
        /// adds the column <c>MeasuredMs</c> (judging on measured latency rather than the table). Null: no measurement.
        /// </summary>
        public LatencyMeasurementOptions? MeasureLatency { get; set; }
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
        var cost = LatencyCost(o.LatencyTablePath, preset, "GeneratorSearch.Options.LatencyTablePath");
        var data = input.ToImageDataset(o.LabelColumnName, o.FeatureColumnName);
        var model = Train(run, data, o, o.Training, o.MaxValidationImages, cost: cost);
        return new GeneratorTransformer(model, o.TargetColumnName ?? GeneratorTransformer.DefaultTargetColumn(model.Kind), o.HardLimit, o.MeasureLatency);
    }

    /// <summary>
    /// The latency cost of the table at <paramref name="path"/> for <paramref name="preset"/>, or null without a path;
    /// errors name the option.
    /// </summary>
    internal static ConstraintCost? LatencyCost(string? path, SearchSpacePreset preset, string option)
    {
        if (path is null) return null;
        if (!File.Exists(path))
            throw new FileNotFoundException($"{option}: no latency table at '{path}'; measure one with 'sgnas latency-table --preset {preset.Name} --out {path}'.", path);
        try { return ConstraintCost.Create(ConstraintKind.Latency, preset, LatencyTable.Load(path)); }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new ArgumentException($"{option}: {e.Message}", option, e);
        }
    }

    internal static ArchitectureGeneratorModel Train(RunFolder run, ImageDataset data, SgnasEstimatorOptions o, GeneratorOptions training, int? maxValidationImages,
        bool resume = false, ConstraintCost? cost = null)
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
            var model = new GeneratorTrainer(supernet, training with { Seed = o.SeedValue }, device, cost)
                .Train(data, val, norm, o.Progress, o.CancellationToken, new GeneratorCheckpoint(run.GeneratorTrainingDir, resume));
            model.Save(run);
            return model;
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        var kind = _options.LatencyTablePath is null ? ConstraintKind.Flops : ConstraintKind.Latency;
        return GeneratorTransformer.OutputShape(inputSchema, _options.TargetColumnName ?? GeneratorTransformer.DefaultTargetColumn(kind), kind,
            _options.MeasureLatency is not null);
    }
}

/// <summary>
/// A trained architecture generator: maps a column of target FLOPs to <c>Architecture</c> (text),
/// <c>FlopsM</c>, <c>ParamsM</c> and <c>Repaired</c>, with one batched generator forward pass for all rows.
/// A latency generator (docs/latency.md) reads a column of budgets in ms and adds <c>PredictedMs</c> (the table's
/// prediction); when asked, every generated network is also measured in ONNX Runtime (<c>MeasuredMs</c>).
/// The generator lives in the run folder (<c>generator.pt</c>, <c>generator.json</c>); ML.NET cannot save it into a
/// .zip (its saving interfaces are internal), so reload it with <see cref="Load"/>.
/// </summary>
public sealed class GeneratorTransformer : ITransformer, IDisposable
{
    /// <summary>Output column names.</summary>
    public const string ArchitectureColumn = "Architecture", FlopsColumn = "FlopsM", ParamsColumn = "ParamsM", RepairedColumn = "Repaired";

    /// <summary>Output columns of a latency generator (predicted by its table) and of measured latency.</summary>
    public const string PredictedMsColumn = "PredictedMs", MeasuredMsColumn = "MeasuredMs";

    /// <summary>Default budget column: <c>TargetFlopsM</c>, or <c>TargetLatencyMs</c> for a latency generator.</summary>
    public static string DefaultTargetColumn(ConstraintKind kind) => kind == ConstraintKind.Latency ? "TargetLatencyMs" : "TargetFlopsM";

    private readonly string _target;
    private readonly bool _hardLimit;
    private readonly LatencyMeasurementOptions? _measure;

    internal GeneratorTransformer(ArchitectureGeneratorModel model, string targetColumn, bool hardLimit, LatencyMeasurementOptions? measure = null)
    {
        Model = model; _target = targetColumn; _hardLimit = hardLimit; _measure = measure;
        measure?.Validate();
    }

    /// <summary>The trained generator with its prior pool and constraint interval.</summary>
    public ArchitectureGeneratorModel Model { get; }

    /// <summary>Loads the generator of a run folder.</summary>
    /// <param name="runFolder">The run folder (generator.json, generator.pt).</param>
    /// <param name="targetColumn">Budget column; null: <see cref="DefaultTargetColumn"/> of <paramref name="kind"/>.</param>
    /// <param name="hardLimit">Repair generated architectures over their budget.</param>
    /// <param name="device">Torch device.</param>
    /// <param name="kind">The kind of budget asked for; a generator trained for the other kind is refused
    /// (<see cref="ConstraintMismatchException"/>).</param>
    /// <param name="latencyTablePath">Optional: the latency table the caller means; refused unless it is the one the
    /// generator was trained against.</param>
    /// <param name="measureLatency">When set, generated networks are also measured in ONNX Runtime (<c>MeasuredMs</c>).</param>
    public static GeneratorTransformer Load(string runFolder, string? targetColumn = null, bool hardLimit = false, string device = "cpu",
        ConstraintKind kind = ConstraintKind.Flops, string? latencyTablePath = null, LatencyMeasurementOptions? measureLatency = null)
    {
        var run = new RunFolder(runFolder);
        run.RequireGenerator();
        var table = latencyTablePath is null ? null : LatencyTable.Load(latencyTablePath);
        var model = ArchitectureGeneratorModel.Load(run, DeviceSelector.Resolve(device), expectedKind: kind, expectedTable: table);
        return new GeneratorTransformer(model, targetColumn ?? DefaultTargetColumn(kind), hardLimit, measureLatency);
    }

    /// <summary>Generates architectures for <paramref name="targetsM"/> (M, or ms for a latency generator) in one batched pass (no ML.NET involved).</summary>
    public IReadOnlyList<GeneratedArchitecture> Generate(IReadOnlyList<double> targetsM) => Model.Generate(targetsM, _hardLimit);

    /// <inheritdoc />
    public bool IsRowToRowMapper => false;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        CheckTarget(inputSchema);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema);
        foreach (var (name, type) in Columns(Model.Kind, _measure is not null)) b.AddColumn(name, type);
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
        var columns = new List<PrecomputedColumn>
        {
            new(ArchitectureColumn, TextDataViewType.Instance, generated.Select(g => g.Architecture.ToString().AsMemory()).ToArray()),
            new(FlopsColumn, NumberDataViewType.Double, generated.Select(g => g.FlopsM).ToArray()),
            new(ParamsColumn, NumberDataViewType.Double, generated.Select(g => g.ParamsM).ToArray()),
            new(RepairedColumn, BooleanDataViewType.Instance, generated.Select(g => g.Repaired).ToArray()),
        };
        if (Model.Kind == ConstraintKind.Latency)
            columns.Add(new(PredictedMsColumn, NumberDataViewType.Double, generated.Select(g => g.Cost).ToArray()));
        if (_measure is not null)
        {
            // All generated networks timed together in ONNX Runtime (docs/latency.md), duplicates once.
            var ms = generated.Length == 0 ? Array.Empty<double>()
                : OnnxLatency.MeasureMs(Model.Preset, generated.Select(g => g.Architecture).ToList(), _measure).ToArray();
            columns.Add(new(MeasuredMsColumn, NumberDataViewType.Double, ms));
        }
        return new AppendedColumnsDataView(input, columns.ToArray());
    }

    void ICanSaveModel.Save(ModelSaveContext ctx) => throw new NotSupportedException(
        $"A generator cannot be saved into an ML.NET .zip; it is already saved in its run folder. Reload it with GeneratorTransformer.Load(\"{Model.Preset.Name} run folder\").");

    /// <inheritdoc />
    public void Dispose() => Model.Dispose();

    private static (string, DataViewType)[] Columns(ConstraintKind kind, bool measured)
    {
        var list = new List<(string, DataViewType)>
        {
            (ArchitectureColumn, TextDataViewType.Instance), (FlopsColumn, NumberDataViewType.Double),
            (ParamsColumn, NumberDataViewType.Double), (RepairedColumn, BooleanDataViewType.Instance),
        };
        if (kind == ConstraintKind.Latency) list.Add((PredictedMsColumn, NumberDataViewType.Double));
        if (measured) list.Add((MeasuredMsColumn, NumberDataViewType.Double));
        return list.ToArray();
    }

    private static string What(ConstraintKind kind) => kind == ConstraintKind.Latency ? "latency budgets in ms" : "target FLOPs in M";

    private DataViewSchema.Column CheckTarget(DataViewSchema schema)
    {
        var col = schema.GetColumnOrNull(_target) ?? throw new ArgumentOutOfRangeException(nameof(schema),
            $"Target column '{_target}' not found: the generator needs a Single or Double column of {What(Model.Kind)}.");
        if (col.Type != NumberDataViewType.Single && col.Type != NumberDataViewType.Double)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Target column '{_target}' must be Single or Double ({What(Model.Kind)}); it is {col.Type}.");
        return col;
    }

    internal static SchemaShape OutputShape(SchemaShape input, string target, ConstraintKind kind = ConstraintKind.Flops, bool measured = false)
    {
        var t = SchemaChecks.Find(input, target) ?? throw new ArgumentOutOfRangeException(nameof(input),
            $"Target column '{target}' not found: the generator's transformer needs a Single or Double column of {What(kind)}.");
        if (t.Kind != SchemaShape.Column.VectorKind.Scalar || (t.ItemType != NumberDataViewType.Single && t.ItemType != NumberDataViewType.Double))
            throw new ArgumentOutOfRangeException(nameof(input), $"Target column '{target}' must be a Single or Double scalar ({What(kind)}).");
        return SchemaChecks.AddColumns(input, Columns(kind, measured));
    }
}
