using Microsoft.ML;
using Sgnas.Data;
using Sgnas.IO;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Onnx;
using Sgnas.MLNet.Pipeline;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using Sgnas.Training;
using CoreRetrainer = Sgnas.Training.ArchitectureRetrainer;

namespace Sgnas.MLNet;

/// <summary>
/// Stage 3 of SGNAS as an ML.NET estimator: <see cref="Fit"/> retrains a given (or generated) architecture from
/// scratch on an image <see cref="IDataView"/>, keeps the best epoch by validation accuracy, exports it to ONNX and
/// returns a stock ML.NET scoring chain (<c>Score</c>, <c>PredictedLabel</c>) that <c>mlContext.Model.Save</c>
/// writes into one .zip loadable without TorchSharp.
/// </summary>
public sealed class ArchitectureRetrainer : IEstimator<SgnasModel>
{
    /// <summary>Options of <see cref="ArchitectureRetrainer"/>.</summary>
    public sealed class Options : SgnasEstimatorOptions
    {
        /// <summary>The architecture in text form (e.g. <c>e4:3,3,5,7|e2:7,7|...</c>); required.</summary>
        public string? Architecture { get; set; }
        /// <summary>Retraining options (optimizer, schedule, epochs, SE, h-swish, ...); defaults follow the paper.</summary>
        public RetrainOptions Training { get; set; } = new();
        /// <summary>Optional held-out test data reported in the metrics (top-1, top-5, confusion matrix).</summary>
        public IDataView? TestData { get; set; }
    }

    private readonly Options _options;
    private readonly SearchSpacePreset _preset;
    private readonly Architecture _arch;

    /// <summary>Seed and log of the MLContext whose catalog created this estimator.</summary>
    internal SgnasHost Host { get; init; } = SgnasHost.None;

    /// <summary>Creates the estimator; preset and architecture are parsed and validated here. The options are read, never written.</summary>
    public ArchitectureRetrainer(Options options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _preset = SearchSpacePreset.Load(options.Preset);
        if (string.IsNullOrWhiteSpace(options.Architecture))
            throw new ArgumentException("ArchitectureRetrainer.Options.Architecture is required (text form, e.g. from GeneratorSearch).", nameof(options));
        _arch = ArchitectureCodec.Parse(options.Architecture, _preset);
        options.Training.Validate();
    }

    /// <inheritdoc />
    public SgnasModel Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        SchemaChecks.CheckImageColumns(input.Schema, _options.LabelColumnName, _options.FeatureColumnName, _preset, needLabel: true);
        var o = _options.ResolveForFit<Options>(Host, continueRun: false, stage: "retrain");
        var train = input.ToImageDataset(o.LabelColumnName, o.FeatureColumnName);
        ImageDataset? test = null;
        if (o.TestData is not null)
        {
            SchemaChecks.CheckImageColumns(o.TestData.Schema, o.LabelColumnName, o.FeatureColumnName, _preset, needLabel: true);
            test = o.TestData.ToImageDataset(o.LabelColumnName, o.FeatureColumnName);
        }
        var run = new RunFolder(o.RunFolder!);
        var metrics = Retrain(_preset, _arch, o, o.Training, train, test, run);
        return SgnasModel.FromRetrainFolder(run, input, o, metrics, train.ClassNames);
    }

    internal static RetrainMetrics Retrain(SearchSpacePreset preset, Architecture arch, SgnasEstimatorOptions o, RetrainOptions training,
        ImageDataset train, ImageDataset? test, RunFolder run)
    {
        var device = DeviceSelector.Resolve(o.Device);
        var opts = training with { Seed = o.SeedValue, MaxTrainImages = o.MaxTrainImages ?? training.MaxTrainImages };
        return new CoreRetrainer(preset, arch, opts, device).Run(train, test, run.RetrainDir, o.Progress, o.CancellationToken);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaChecks.CheckImageColumns(inputSchema, _options.LabelColumnName, _options.FeatureColumnName, _preset, needLabel: false);
        return SchemaChecks.AddClassifierColumns(inputSchema, _preset.NumClasses);
    }
}

/// <summary>
/// A retrained SGNAS network as an ML.NET transformer: scoring runs in ML.NET's ONNX transformer, so
/// <c>mlContext.Model.Save</c> writes one .zip with the network inside and <c>mlContext.Model.Load</c> reads it back
/// without TorchSharp (as a stock <c>TransformerChain</c>). Also carries what the search found and measured.
/// </summary>
public sealed class SgnasModel : DelegatingTransformer
{
    private SgnasModel(ITransformer chain, RunFolder run, Architecture arch, double flopsM, double paramsM, RetrainMetrics? metrics)
        : base(chain)
    {
        Run = run; Architecture = arch; FlopsM = flopsM; ParamsM = paramsM; Metrics = metrics;
    }

    /// <summary>The run folder (checkpoints, reports, model.onnx).</summary>
    public RunFolder Run { get; }
    /// <summary>The architecture of the network.</summary>
    public Architecture Architecture { get; }
    /// <summary>Exact FLOPs (MACs) in M.</summary>
    public double FlopsM { get; }
    /// <summary>Parameters in M.</summary>
    public double ParamsM { get; }
    /// <summary>Retraining metrics (validation history, test top-1/top-5 when test data was given).</summary>
    public RetrainMetrics? Metrics { get; }
    /// <summary>Search report when the model came from <see cref="SgnasSearch"/>; null otherwise.</summary>
    public SgnasSearchReport? Report { get; internal set; }

    /// <summary>Saves the model as an ML.NET .zip (atomically) for <c>mlContext.Model.Load</c>.</summary>
    public void Save(MLContext mlContext, DataViewSchema inputSchema, string path) =>
        OnnxClassifierPipeline.Save(mlContext, Chain, inputSchema, path);

    /// <summary>
    /// Saves the Model Builder form: a .zip that takes <c>ImagePath</c> and returns <c>PredictedLabel</c> (class name)
    /// and <c>Score</c>, decoding and resizing the image itself (see <see cref="ImageFileClassifier"/>).
    /// </summary>
    public void SaveForImageFiles(MLContext mlContext, string path, ImageFileClassifierOptions? options = null) =>
        ImageFileClassifier.Save(mlContext, Run.Onnx, path, options);

    /// <summary>Architecture, FLOPs, preset and class names as stored in the model's ONNX metadata.</summary>
    public SgnasModelInfo Info => SgnasModelInfo.Read(Run.Onnx);

    internal static SgnasModel FromRetrainFolder(RunFolder run, IDataView input, SgnasEstimatorOptions o, RetrainMetrics? metrics,
        IReadOnlyList<string>? classNames)
    {
        var (net, state) = CoreRetrainer.LoadNetwork(new RetrainFolder(run.RetrainDir), Sgnas.Runtime.DeviceSelector.Resolve("cpu"));
        using (net)
        {
            var cost = Sgnas.Cost.FlopsCounter.Count(net, net.Preset.InputChannels, net.Preset.InputSize);
            var ml = new MLContext(o.SeedValue);
            var estimator = OnnxClassifierPipeline.Create(ml, net, new ChannelNormalization(state.NormalizationMean, state.NormalizationStd), run.Root, classNames);
            return new SgnasModel(estimator.Fit(input), run, net.Architecture, cost.FlopsM, cost.ParamsM, metrics);
        }
    }
}
