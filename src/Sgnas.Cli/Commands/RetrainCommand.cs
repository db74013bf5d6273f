using System.CommandLine;
using System.Text.Json;
using Sgnas.Data;
using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas retrain</c>: stage 3, train a chosen architecture from scratch and measure it on the test set.</summary>
public sealed class RetrainCommand : SgnasCommand
{
    private static readonly RetrainOptions Defaults = new();

    private readonly Option<string?> _arch = CliOptions.Text("--arch", "architecture, e.g. e3:3,5,7|e4:3,3,5,5|...", required: true);
    private readonly Option<string?> _out = CliOptions.Out("output folder: last.pt, best.pt, state.json, metrics.json", required: true);
    private readonly Option<string> _preset = CliOptions.Preset();
    private readonly Option<string?> _data = CliOptions.Data("IDX, CIFAR or image-folder data (default Fashion-MNIST); its test split is the held-out set");
    private readonly Option<int> _epochs = CliOptions.Int("--epochs", "total epochs", Defaults.Epochs, min: 1);
    private readonly Option<string> _optimizer = CliOptions.Choice("--optimizer", "rmsprop (paper: warm-up + x0.97 every 3 epochs) or sgd (Nesterov + cosine)", "rmsprop", "rmsprop", "sgd");
    private readonly Option<double?> _lr = CliOptions.DoubleOrNull("--lr", "peak learning rate (default 0.016 rmsprop / 0.1 sgd per 256 images, scaled to the batch)", min: 0, minExclusive: true);
    private readonly Option<double?> _warmupEpochs = CliOptions.DoubleOrNull("--warmup-epochs", "linear warm-up (default 5 rmsprop, 0 sgd)", min: 0);
    private readonly Option<int> _batchSize = CliOptions.Int("--batch-size", "images per step", Defaults.BatchSize, min: 1);
    private readonly Option<double?> _weightDecay = CliOptions.DoubleOrNull("--weight-decay", "L2 on conv/linear weights (default 1e-5 rmsprop, 4e-5 sgd)", min: 0);
    private readonly Option<double> _labelSmoothing = CliOptions.Double("--label-smoothing", "label smoothing", Defaults.LabelSmoothing, min: 0, max: 1, maxExclusive: true);
    private readonly Option<double> _valFraction = CliOptions.Double("--val-fraction", "share of the training images held out to pick the best epoch (0 = last epoch)",
        Defaults.ValidationFraction, min: 0, max: 1, maxExclusive: true);
    private readonly Option<int?> _maxTrainImages = CliOptions.IntOrNull("--max-train-images", "use a seeded subset of N training images (before the validation split)", min: 2);
    private readonly Option<string> _augment = CliOptions.Choice("--augment", "augmentation (auto: by input size)", "auto", "auto", "none", "crop-flip", "resized-crop");
    private readonly Option<string> _normalization = CliOptions.Choice("--normalization", "per-channel mean/std of the preset or of the data", "preset", "preset", "data");
    private readonly Option<bool> _se = CliOptions.Flag("--se", "squeeze-and-excitation in every block");
    private readonly Option<bool> _hswish = CliOptions.Flag("--hswish", "h-swish instead of ReLU6");
    private readonly Option<double> _dropout = CliOptions.Double("--dropout", "dropout before the classifier (reference 0.2)", 0, min: 0, max: 1, maxExclusive: true);
    private readonly Option<double?> _lrPer256 = CliOptions.DoubleOrNull("--lr-per-256",
        "peak learning rate per 256 images, scaled to the batch (default: rmsprop 0.016, the reference script's, measured better than the paper's 0.16; sgd 0.1)", min: 0, helpName: "X");
    private readonly Option<double?> _ema = CliOptions.DoubleOrNull("--ema",
        "decay of a weight moving average that is validated, kept and tested (default off; reference 0.9999)", min: 0, helpName: "D");
    private readonly Option<string> _init = CliOptions.Choice("--init", "weight initialisation: TorchSharp's, or the reference code's", "default", "default", "reference");
    private readonly Option<string> _seBottleneck = CliOptions.Choice("--se-bottleneck",
        "with --se: bottleneck c_in/4 (input) or e·c_in/4 (expanded, the reference)", "input", "input", "expanded");
    private readonly Option<bool> _stemSe = CliOptions.Flag("--stem-se", "with --se: SE in the first MBConv too (the reference)");
    private readonly Option<string> _device = CliOptions.Device();
    private readonly Option<int?> _threads = CliOptions.Threads();
    private readonly Option<int> _seed = CliOptions.Seed();
    private readonly Option<bool> _resume = CliOptions.Resume("continue the checkpoint in --out at its next epoch");

    public override string Name => "retrain";
    public override string Summary => "Retrain an architecture from scratch; writes best.pt and metrics.json.";

    protected override int Run(ParseResult parse)
    {
        var preset = CliOptions.LoadPreset(parse, _preset);
        string archText = parse.GetValue(_arch)!;
        string outDir = parse.GetValue(_out)!;
        string? dataPath = parse.GetValue(_data);
        string deviceName = parse.GetValue(_device)!;
        int? threads = parse.GetValue(_threads);
        var options = new RetrainOptions
        {
            Epochs = parse.GetValue(_epochs),
            Optimizer = parse.GetValue(_optimizer) == "sgd" ? RetrainOptimizer.Sgd : RetrainOptimizer.RmsProp,
            LearningRate = parse.GetValue(_lr),
            LearningRatePer256 = parse.GetValue(_lrPer256),
            EmaDecay = parse.GetValue(_ema),
            Init = parse.GetValue(_init) == "reference" ? WeightInitKind.Reference : WeightInitKind.Default,
            WarmupEpochs = parse.GetValue(_warmupEpochs),
            BatchSize = parse.GetValue(_batchSize),
            WeightDecay = parse.GetValue(_weightDecay),
            LabelSmoothing = parse.GetValue(_labelSmoothing),
            ValidationFraction = parse.GetValue(_valFraction),
            MaxTrainImages = parse.GetValue(_maxTrainImages),
            Augmentation = parse.GetValue(_augment) switch
            {
                "none" => RetrainAugmentation.None,
                "crop-flip" => RetrainAugmentation.CropAndFlip,
                "resized-crop" => RetrainAugmentation.RandomResizedCrop,
                _ => RetrainAugmentation.Auto,
            },
            Normalization = parse.GetValue(_normalization) == "data" ? NormalizationSource.Data : NormalizationSource.Preset,
            Network = new ChildNetworkOptions(
                SqueezeExcite: parse.GetValue(_se),
                Activation: parse.GetValue(_hswish) ? ActivationKind.HSwish : ActivationKind.ReLU6,
                Dropout: parse.GetValue(_dropout),
                SeBottleneck: parse.GetValue(_seBottleneck) == "expanded" ? SeBottleneck.Expanded : SeBottleneck.Input,
                StemSqueezeExcite: parse.GetValue(_stemSe)),
            Seed = parse.GetValue(_seed),
            Resume = parse.GetValue(_resume),
        };
        using var output = OpenOutput(parse);
        try { options.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException(e.Message); }

        var arch = ArchitectureCodec.Parse(archText, preset);
        using var longRun = LongRun.Start(Name, outDir);
        var device = DeviceSelector.Resolve(deviceName);
        if (threads is int threadCount) TorchSharp.torch.set_num_threads(threadCount);
        string source = dataPath ?? $"Fashion-MNIST ({FashionMnist.DefaultFolder})";
        var train = DatasetLoader.Load(dataPath, DatasetSplit.Train, CifarLabelKind.Fine, ImageFolderData.Shape(preset));
        ArchitectureRetrainer.CheckData(preset, train, $"training data at {source}");
        ImageDataset? test = null;
        try { test = DatasetLoader.Load(dataPath, DatasetSplit.Test, CifarLabelKind.Fine, ImageFolderData.Shape(preset)); }
        catch (FileNotFoundException e)
        {
            output.Log($"warning: no test split at {source} ({e.Message}); metrics.json will have no test accuracy.");
        }
        if (test != null) ArchitectureRetrainer.CheckData(preset, test, $"test data at {source}");

        if (options.EffectiveWarmupEpochs >= options.Epochs && options.Optimizer == RetrainOptimizer.RmsProp)
            output.Log($"warning: the {options.EffectiveWarmupEpochs:G3}-epoch warm-up is not shorter than the {options.Epochs} epochs: " +
                       $"the learning rate ends at {options.LearningRateAt(options.Epochs):G3}, below the peak {options.EffectiveLearningRate:G3}. " +
                       "Pass --warmup-epochs for short runs.");
        output.Log($"retrain {arch} on {source}: {train.Count} training images{(options.MaxTrainImages is int m ? $" (using {Math.Min(m, train.Count)})" : "")}, " +
                   $"{test?.Count ?? 0} test images{(test?.Source is { } ts ? $" ({ts})" : "")}, {options.Optimizer} peak lr {options.EffectiveLearningRate:G3}, batch {options.BatchSize}, " +
                   $"{options.Epochs} epochs, device {deviceName}");

        longRun.Kept = $"the checkpoint of the last completed epoch is kept in {Path.GetFullPath(outDir)}; continue with the same command and --resume.";
        var metrics = new ArchitectureRetrainer(preset, arch, options, device).Run(train, test, outDir, output.Progress(), longRun.Token);

        if (output.Json) output.JsonText(JsonSerializer.Serialize(metrics, RetrainJson.Options));
        else
            output.Result(metrics, () =>
                $"{metrics.Architecture}\n" +
                $"FLOPs {metrics.FlopsM:F3} M, params {metrics.ParamsM:F4} M\n" +
                $"best epoch {metrics.BestEpoch}/{metrics.Epochs}" + (metrics.BestValidationTop1 is double v ? $" (validation top-1 {v:P2})" : "") + "\n" +
                (metrics.TestTop1 is double t1 ? $"test top-1 {t1:P2}, top-5 {metrics.TestTop5:P2} on {metrics.TestImages} images ({metrics.TestSource})\n" : "no test set\n") +
                $"{metrics.Seconds / 60:F1} min, {metrics.ImagesPerSecondTrain:F0} training images/s\n" +
                $"wrote {Path.Combine(Path.GetFullPath(outDir), "best.pt")} and metrics.json");
        return 0;
    }
}
