using System.Diagnostics;
using Microsoft.ML;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Latency;
using Sgnas.MLNet.Pipeline;
using Sgnas.SearchSpace;
using Sgnas.Training;
using CoreSupernetTrainer = Sgnas.Training.SupernetTrainer;

namespace Sgnas.MLNet;

/// <summary>What one <see cref="SgnasSearch"/> run did and measured, stage by stage.</summary>
public sealed record SgnasSearchReport
{
    /// <summary>Preset name.</summary>
    public required string Preset { get; init; }
    /// <summary>The FLOPs budget in M (NaN when the search had a latency budget, <see cref="TargetLatencyMs"/>).</summary>
    public required double TargetFlopsM { get; init; }
    /// <summary>The kind of budget (docs/latency.md).</summary>
    public ConstraintKind Kind { get; init; } = ConstraintKind.Flops;
    /// <summary>The latency budget in ms (latency searches only).</summary>
    public double? TargetLatencyMs { get; init; }
    /// <summary>The pick's latency predicted by the table the generator was trained against, ms (latency searches only).</summary>
    public double? PredictedMs { get; init; }
    /// <summary>The pick's batch-1 latency measured in ONNX Runtime, ms (with <see cref="SgnasSearch.Options.MeasureLatency"/>).</summary>
    public double? MeasuredMs { get; init; }
    /// <summary>The generated (and possibly repaired) architecture.</summary>
    public required string Architecture { get; init; }
    /// <summary>Its exact FLOPs in M.</summary>
    public required double FlopsM { get; init; }
    /// <summary>Its parameters in M.</summary>
    public required double ParamsM { get; init; }
    /// <summary>True if the hard limit shrank the generated architecture to fit.</summary>
    public bool Repaired { get; init; }
    /// <summary>Supernet validation top-1 (mean over fixed paths) after the last epoch.</summary>
    public double? SupernetValTop1 { get; init; }
    /// <summary>Kendall τ between targets and generated FLOPs at the best generator epoch.</summary>
    public double GeneratorKendallTau { get; init; }
    /// <summary>Pearson correlation between targets and generated FLOPs at the best generator epoch.</summary>
    public double GeneratorPearson { get; init; }
    /// <summary>Mean absolute relative FLOPs error of the generator at its best epoch.</summary>
    public double GeneratorMeanAbsRelError { get; init; }
    /// <summary>Best validation top-1 of the retrained network.</summary>
    public double? RetrainValTop1 { get; init; }
    /// <summary>Test top-1 of the retrained network, when test data was given.</summary>
    public double? TestTop1 { get; init; }
    /// <summary>Test top-5, when test data was given.</summary>
    public double? TestTop5 { get; init; }
    /// <summary>Test images behind <see cref="TestTop1"/> (0 without test data).</summary>
    public int TestImages { get; init; }
    /// <summary>Where the test images came from (<see cref="SgnasSearch.Options.TestDataSource"/>).</summary>
    public string? TestSource { get; init; }
    /// <summary>Wall seconds per stage: supernet, generator, generation, retrain, export.</summary>
    public required IReadOnlyDictionary<string, double> StageSeconds { get; init; }
}

/// <summary>
/// The whole SGNAS flow as one ML.NET estimator (<c>mlContext.Transforms.SgnasSearch</c>): train the unified
/// supernet, train the architecture generator once, generate the architecture for the target FLOPs in one forward
/// pass, retrain it from scratch, export it to ONNX. The result scores images (<c>Score</c>,
/// <c>PredictedLabel</c>), works with <c>MulticlassClassification.Evaluate</c> and <c>PredictionEngine</c>, and saves
/// into one .zip. Every stage checkpoints into the run folder; a finished stage found there is reused when
/// <see cref="Options.ReuseCompletedStages"/> is set. The budget is FLOPs (<see cref="Options.TargetFlopsM"/>) or a
/// latency in ms on a measured table (<see cref="Options.TargetLatencyMs"/> with <see cref="Options.LatencyTablePath"/>;
/// docs/latency.md).
/// </summary>
public sealed class SgnasSearch : IEstimator<SgnasModel>
{
    /// <summary>Options of <see cref="SgnasSearch"/>; stage defaults are sized for a 2-core CPU and Fashion-MNIST.</summary>
    public sealed class Options : SgnasEstimatorOptions
    {
        /// <summary>FLOPs budget in M; null uses the middle of the preset's constraint interval (unless <see cref="TargetLatencyMs"/> is set).</summary>
        public double? TargetFlopsM { get; set; }
        /// <summary>
        /// Latency budget in ms on the machine <see cref="LatencyTablePath"/> was measured on (docs/latency.md); the
        /// generator is then trained against that table. Set this or <see cref="TargetFlopsM"/>, not both.
        /// </summary>
        public double? TargetLatencyMs { get; set; }
        /// <summary>The latency table (<c>sgnas latency-table</c>) for <see cref="TargetLatencyMs"/>; required with it.</summary>
        public string? LatencyTablePath { get; set; }
        /// <summary>
        /// When set, the picked architecture's latency is also measured in ONNX Runtime with these settings and
        /// reported (<see cref="SgnasSearchReport.MeasuredMs"/>). Null: not measured.
        /// </summary>
        public LatencyMeasurementOptions? MeasureLatency { get; set; }
        /// <summary>Shrink the generated architecture if it exceeds the budget (default true: a budget is a limit).</summary>
        public bool HardLimit { get; set; } = true;
        /// <summary>Supernet training options.</summary>
        public SupernetTrainerOptions Supernet { get; set; } = SgnasSearchDefaults.Supernet;
        /// <summary>Generator training options.</summary>
        public GeneratorOptions Generator { get; set; } = SgnasSearchDefaults.Generator;
        /// <summary>Retraining options.</summary>
        public RetrainOptions Retrain { get; set; } = SgnasSearchDefaults.Retrain;
        /// <summary>Validation images per generator epoch; null uses the whole supernet validation split.</summary>
        public int? MaxGeneratorImages { get; set; } = SgnasSearchDefaults.MaxGeneratorImages;
        /// <summary>Optional test data for the report (top-1, top-5).</summary>
        public IDataView? TestData { get; set; }
        /// <summary>Where <see cref="TestData"/> comes from, recorded in the report and metrics.json.</summary>
        public string? TestDataSource { get; set; }
        /// <summary>
        /// Reuse the stages already in the run folder: a finished supernet or generator is loaded, and a stage that was
        /// interrupted (supernet, generator training, retraining) continues from its last checkpoint.
        /// </summary>
        public bool ReuseCompletedStages { get; set; }
    }

    private readonly Options _options;
    private readonly SearchSpacePreset _preset;
    private readonly ConstraintCost? _latency;

    /// <summary>Seed and log of the MLContext whose catalog created this estimator.</summary>
    internal SgnasHost Host { get; init; } = SgnasHost.None;

    /// <summary>Creates the estimator; preset and budget are checked here. The options are read, never written.</summary>
    public SgnasSearch(Options options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _preset = SearchSpacePreset.Load(options.Preset);
        var budget = Budget.FromOptions(options.TargetFlopsM, options.TargetLatencyMs, "SgnasSearch.Options.TargetFlopsM", "SgnasSearch.Options.TargetLatencyMs");
        if (options.TargetLatencyMs is not null && options.LatencyTablePath is null)
            throw new ArgumentException("SgnasSearch.Options.TargetLatencyMs needs LatencyTablePath: a latency table measured for the preset on the deployment machine ('sgnas latency-table').", nameof(options));
        _latency = GeneratorSearch.LatencyCost(options.LatencyTablePath, _preset, "SgnasSearch.Options.LatencyTablePath");
        if (_latency is not null && options.TargetFlopsM is not null)
            throw new ArgumentException("SgnasSearch.Options.LatencyTablePath trains the generator for latency budgets; give TargetLatencyMs instead of TargetFlopsM.", nameof(options));
        var cost = _latency ?? ConstraintCost.Create(ConstraintKind.Flops, _preset);
        var (min, max) = cost.Range();
        if (budget is { } b && !(b.Value >= min && b.Value <= max))
            throw new ArgumentOutOfRangeException(nameof(options), b.Value,
                $"{(b.Kind == ConstraintKind.Flops ? "TargetFlopsM" : "TargetLatencyMs")} {b} is outside the feasible range {min:F3}..{max:F3} {b.Unit} of preset '{_preset.Name}'" +
                (b.Kind == ConstraintKind.Latency ? " predicted by the latency table." : "."));
        options.Supernet.Validate(); options.Generator.Validate(); options.Retrain.Validate();
    }

    /// <inheritdoc />
    public SgnasModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var o = _options.ResolveForFit<Options>(Host, continueRun: _options.ReuseCompletedStages, stage: "search");
        SchemaChecks.CheckImageColumns(input.Schema, o.LabelColumnName, o.FeatureColumnName, _preset, needLabel: true);
        ImageDataset? test = null;
        if (o.TestData is not null)
        {
            SchemaChecks.CheckImageColumns(o.TestData.Schema, o.LabelColumnName, o.FeatureColumnName, _preset, needLabel: true);
            test = o.TestData.ToImageDataset(o.LabelColumnName, o.FeatureColumnName).WithSource(o.TestDataSource);
        }
        var data = input.ToImageDataset(o.LabelColumnName, o.FeatureColumnName);
        var run = new RunFolder(o.RunFolder!);
        var seconds = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();

        double? supernetTop1 = null;
        if (o.ReuseCompletedStages && File.Exists(run.SupernetMeta))
        {
            // A stage stopped part-way (Ctrl-C, crash) continues from its last checkpoint; a finished one is returned as is.
            supernetTop1 = CoreSupernetTrainer.Resume(run, data, o.Progress, o.CancellationToken, o.Device).ValidationTop1;
        }
        else
        {
            var training = o.Supernet with { Device = o.Device, Seed = o.SeedValue, MaxTrainImages = o.MaxTrainImages ?? o.Supernet.MaxTrainImages };
            supernetTop1 = new CoreSupernetTrainer(_preset, training).Train(data, run, o.Progress, o.CancellationToken).ValidationTop1;
        }
        seconds["supernet"] = Lap(clock);

        var kind = _latency?.Kind ?? ConstraintKind.Flops;
        ArchitectureGeneratorModel generator = o.ReuseCompletedStages && File.Exists(run.GeneratorMeta)
            ? ArchitectureGeneratorModel.Load(run, Sgnas.Runtime.DeviceSelector.Resolve(o.Device), _preset, kind, _latency?.LatencyTable)
            : GeneratorSearch.Train(run, data, o, o.Generator, o.MaxGeneratorImages, resume: o.ReuseCompletedStages, cost: _latency);
        seconds["generator"] = Lap(clock);

        GeneratedArchitecture picked;
        using (generator)
        {
            double target = (kind == ConstraintKind.Latency ? o.TargetLatencyMs : o.TargetFlopsM) ?? (generator.LowM + generator.HighM) / 2;
            picked = generator.Generate(new[] { target }, o.HardLimit)[0];
        }
        double? measuredMs = o.MeasureLatency is null ? null : OnnxLatency.MeasureMs(_preset, new[] { picked.Architecture }, o.MeasureLatency)[0];
        seconds["generate"] = Lap(clock);

        var metrics = ArchitectureRetrainer.Retrain(_preset, picked.Architecture, o, o.ReuseCompletedStages ? o.Retrain with { Resume = true } : o.Retrain,
            data, test, run);
        seconds["retrain"] = Lap(clock);

        var model = SgnasModel.FromRetrainFolder(run, input, o, metrics, data.ClassNames);
        seconds["export"] = Lap(clock);
        var best = generator.BestMetrics;
        model.Report = new SgnasSearchReport
        {
            Preset = _preset.Name,
            TargetFlopsM = picked.TargetFlopsM,
            Kind = picked.Kind,
            TargetLatencyMs = picked.Kind == ConstraintKind.Latency ? picked.Target : null,
            PredictedMs = picked.Kind == ConstraintKind.Latency ? picked.Cost : null,
            MeasuredMs = measuredMs,
            Architecture = picked.Architecture.ToString(),
            FlopsM = picked.FlopsM,
            ParamsM = picked.ParamsM,
            Repaired = picked.Repaired,
            SupernetValTop1 = supernetTop1,
            GeneratorKendallTau = best?.KendallTau ?? double.NaN,
            GeneratorPearson = best?.Pearson ?? double.NaN,
            GeneratorMeanAbsRelError = best?.MeanAbsRelError ?? double.NaN,
            RetrainValTop1 = metrics.BestValidationTop1,
            TestTop1 = metrics.TestTop1,
            TestTop5 = metrics.TestTop5,
            TestImages = metrics.TestImages,
            TestSource = metrics.TestSource,
            StageSeconds = seconds,
        };
        return model;
    }

    private static double Lap(Stopwatch clock)
    {
        double s = clock.Elapsed.TotalSeconds;
        clock.Restart();
        return s;
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckImageColumns(inputSchema, _options.LabelColumnName, _options.FeatureColumnName, _preset, needLabel: false);
        return SchemaChecks.AddClassifierColumns(inputSchema, _preset.NumClasses);
    }
}

/// <summary>
/// Stage budgets of <see cref="SgnasSearch"/> and <c>sgnas demo</c>, in one place: sized so the whole flow on
/// Fashion-MNIST finishes in minutes on a 2-core CPU (the paper's values are the defaults of each stage's options).
/// </summary>
public static class SgnasSearchDefaults
{
    /// <summary>Supernet: 3 epochs on a 12k-image subset (paper: 50 epochs on ImageNet).</summary>
    public static SupernetTrainerOptions Supernet => new() { Epochs = 3, MaxTrainImages = 12000 };
    /// <summary>Generator: 30 epochs on 1200 validation images, about 2 s each on a 2-core CPU (paper: 50).</summary>
    public static GeneratorOptions Generator => new() { Epochs = 30 };
    /// <summary>Validation images per generator epoch.</summary>
    public const int MaxGeneratorImages = 1200;
    /// <summary>
    /// Retraining: 8 epochs of SGD with cosine decay. The paper's RMSProp schedule (5 warm-up epochs, ×0.97 every
    /// 3 epochs) is built for hundreds of epochs; in a budget of a few epochs it never decays, so cosine SGD is the
    /// default here and <see cref="RetrainOptimizer.RmsProp"/> stays one option away. 7 epochs: on Fashion-MNIST the
    /// whole demo then takes 5:14–5:53 on 2 cores for 91.35–91.91 % test top-1 (seeds 0–2; 5 epochs gave 90.74–91.11 %,
    /// 8 epochs 91.61 % in 6:32; README "Performance").
    /// </summary>
    public static RetrainOptions Retrain => new() { Epochs = 7, Optimizer = RetrainOptimizer.Sgd };
}
