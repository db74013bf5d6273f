using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;
using Sgnas.IO;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Onnx;
using Sgnas.MLNet.Pipeline;
using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using Sgnas.Training;
using CoreTrainer = Sgnas.Training.SupernetTrainer;

namespace Sgnas.MLNet;

/// <summary>
/// Stage 1 of SGNAS as an ML.NET estimator: <see cref="Fit"/> trains the unified supernet on an image
/// <see cref="IDataView"/> (single path per pass, strictly fair sampling) and writes its checkpoint into the run
/// folder, where <see cref="GeneratorSearch"/> and the CLI find it. The returned transformer scores images with one
/// path of the supernet (the largest by default, inherited weights), so the supernet can be evaluated like any model.
/// </summary>
public sealed class SupernetTrainer : IEstimator<SupernetTransformer>
{
    /// <summary>Options of <see cref="SupernetTrainer"/>.</summary>
    public sealed class Options : SgnasEstimatorOptions
    {
        /// <summary>Training options (epochs, batch size, learning rate, ...); defaults are the paper's.</summary>
        public SupernetTrainerOptions Training { get; set; } = new();
        /// <summary>Continue the checkpoint already in <see cref="SgnasEstimatorOptions.RunFolder"/> instead of refusing it.</summary>
        public bool Resume { get; set; }
        /// <summary>The path the transformer scores with; null uses the largest architecture.</summary>
        public string? ScoringArchitecture { get; set; }
    }

    private readonly Options _options;
    private readonly SearchSpacePreset _preset;

    /// <summary>Seed and log of the MLContext whose catalog created this estimator.</summary>
    internal SgnasHost Host { get; init; } = SgnasHost.None;

    /// <summary>Creates the estimator; the preset is loaded and checked here. The options are read, never written.</summary>
    public SupernetTrainer(Options options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _preset = SearchSpacePreset.Load(options.Preset);
        options.Training.Validate();
    }

    /// <inheritdoc />
    public SupernetTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        SchemaChecks.CheckImageColumns(input.Schema, _options.LabelColumnName, _options.FeatureColumnName, _preset, needLabel: true);
        var o = _options.ResolveForFit<Options>(Host, continueRun: _options.Resume, stage: "supernet");
        var data = input.ToImageDataset(o.LabelColumnName, o.FeatureColumnName);
        var run = new RunFolder(o.RunFolder!);
        var training = o.Training with { Device = o.Device, Seed = o.SeedValue, MaxTrainImages = o.MaxTrainImages ?? o.Training.MaxTrainImages };
        var result = o.Resume && File.Exists(run.SupernetMeta)
            ? CoreTrainer.Resume(run, data, o.Progress, o.CancellationToken)
            : new CoreTrainer(_preset, training).Train(data, run, o.Progress, o.CancellationToken);
        return SupernetTransformer.Create(run, input, o, result, data.ClassNames, o.ScoringArchitecture);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckImageColumns(inputSchema, _options.LabelColumnName, _options.FeatureColumnName, _preset, needLabel: false);
        return SchemaChecks.AddClassifierColumns(inputSchema, _preset.NumClasses);
    }
}

/// <summary>
/// A trained supernet: where it is stored, how it trained, and a stock ML.NET scoring chain for one of its paths
/// (exported to ONNX with inherited weights), so <c>Transform</c> adds <c>Score</c> and <c>PredictedLabel</c>.
/// </summary>
public sealed class SupernetTransformer : DelegatingTransformer
{
    private SupernetTransformer(ITransformer chain, RunFolder run, SearchSpacePreset preset, Architecture path, SupernetTrainingResult? result)
        : base(chain)
    {
        Run = run; Preset = preset; ScoringArchitecture = path; Result = result;
    }

    /// <summary>The run folder holding <c>supernet.pt</c> and <c>supernet.json</c>.</summary>
    public RunFolder Run { get; }
    /// <summary>The search space.</summary>
    public SearchSpacePreset Preset { get; }
    /// <summary>The path <c>Transform</c> scores with.</summary>
    public Architecture ScoringArchitecture { get; }
    /// <summary>Training history (per-epoch loss and top-1); null when loaded from a folder.</summary>
    public SupernetTrainingResult? Result { get; }

    internal static SupernetTransformer Create(RunFolder run, IDataView input, SgnasEstimatorOptions options,
        SupernetTrainingResult? result, IReadOnlyList<string>? classNames, string? scoringArchitecture = null)
    {
        var device = DeviceSelector.Resolve(options.Device);
        var (net, _) = SupernetCheckpoint.Load(run, device);
        using (net)
        {
            var preset = net.Preset;
            var arch = scoringArchitecture is null ? Architecture.Largest(preset) : ArchitectureCodec.Parse(scoringArchitecture, preset);
            using var child = SubnetExtraction.Extract(net, arch);
            var ml = new MLContext(options.SeedValue);
            string folder = Path.Combine(run.Root, "supernet-path");
            var estimator = OnnxClassifierPipeline.Create(ml, child, new ChannelNormalization(preset.Mean.ToArray(), preset.Std.ToArray()), folder, classNames);
            return new SupernetTransformer(estimator.Fit(input), run, preset, arch, result);
        }
    }

    /// <summary>Opens a trained supernet in <paramref name="runFolder"/> and fits its scoring chain to <paramref name="input"/>'s schema.</summary>
    public static SupernetTransformer Load(string runFolder, IDataView input, string device = "cpu", string? scoringArchitecture = null)
    {
        var run = new RunFolder(runFolder);
        run.RequireSupernet();
        return Create(run, input, new SupernetTrainer.Options { Device = device, RunFolder = runFolder }, null, null, scoringArchitecture);
    }
}
