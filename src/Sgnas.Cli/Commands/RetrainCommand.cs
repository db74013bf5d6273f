using System.Text.Json;
using Sgnas.Data;
using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas retrain</c>: stage 3, train a chosen architecture from scratch and measure it on the test set.</summary>
public sealed class RetrainCommand : ICommand
{
    public string Name => "retrain";
    public string Summary => "Retrain an architecture from scratch; writes best.pt and metrics.json.";
    public string Usage =>
        "  --arch TEXT              architecture, e.g. e3:3,5,7|e4:3,3,5,5|... (required)\n" +
        "  --out DIR                output folder: last.pt, best.pt, state.json, metrics.json (required)\n" +
        "  --preset NAME|FILE       search space (default fashion-small)\n" +
        "  --data PATH              dataset folder or IDX file (default Fashion-MNIST); its test split is the held-out set\n" +
        "  --epochs E               total epochs (default 10)\n" +
        "  --optimizer NAME         rmsprop (paper: warm-up + x0.97 every 3 epochs) or sgd (Nesterov + cosine); default rmsprop\n" +
        "  --lr X                   peak learning rate (default 0.16 rmsprop / 0.1 sgd per 256 images, scaled to the batch)\n" +
        "  --warmup-epochs X        linear warm-up (default 5 rmsprop, 0 sgd)\n" +
        "  --batch-size N           (default 128)\n" +
        "  --weight-decay X         L2 on conv/linear weights (default 1e-5 rmsprop, 4e-5 sgd)\n" +
        "  --label-smoothing X      (default 0.1)\n" +
        "  --val-fraction X         share of the training images held out to pick the best epoch (default 0.1; 0 = last epoch)\n" +
        "  --max-train-images N     use a seeded subset of N training images (before the validation split)\n" +
        "  --augment NAME           auto, none, crop-flip, resized-crop (default auto: by input size)\n" +
        "  --normalization NAME     preset or data (default preset)\n" +
        "  --se                     squeeze-and-excitation in every block\n" +
        "  --hswish                 h-swish instead of ReLU6\n" +
        "  --dropout X              dropout before the classifier (default 0)\n" +
        "  --device D               cpu, cuda, cuda:N (default cpu)\n" +
        "  --threads N              CPU threads of libtorch (default: libtorch's choice; 1 is often faster on a busy machine)\n" +
        "  --seed N                 (default 0)\n" +
        "  --resume                 continue the checkpoint in --out at its next epoch\n" +
        "  --json                   print metrics.json on stdout";

    public int Run(Args args)
    {
        var preset = SearchSpacePreset.Load(args.String("preset", "fashion-small")!);
        string archText = args.Required("arch");
        string outDir = args.Required("out");
        string? dataPath = args.String("data");
        string deviceName = args.String("device", "cpu")!;
        int? threads = args.String("threads") is null ? null : args.Int("threads", 0, min: 1);
        var options = new RetrainOptions
        {
            Epochs = args.Int("epochs", new RetrainOptions().Epochs, min: 1),
            Optimizer = args.String("optimizer", "rmsprop")!.ToLowerInvariant() switch
            {
                "rmsprop" => RetrainOptimizer.RmsProp,
                "sgd" => RetrainOptimizer.Sgd,
                var o => throw new UsageException($"--optimizer: '{o}' is not rmsprop or sgd."),
            },
            LearningRate = Optional(args, "lr"),
            WarmupEpochs = Optional(args, "warmup-epochs"),
            BatchSize = args.Int("batch-size", new RetrainOptions().BatchSize, min: 1),
            WeightDecay = Optional(args, "weight-decay"),
            LabelSmoothing = args.Double("label-smoothing", new RetrainOptions().LabelSmoothing),
            ValidationFraction = args.Double("val-fraction", new RetrainOptions().ValidationFraction),
            MaxTrainImages = args.String("max-train-images") is null ? null : args.Int("max-train-images", 0, min: 2),
            Augmentation = args.String("augment", "auto")!.ToLowerInvariant() switch
            {
                "auto" => RetrainAugmentation.Auto,
                "none" => RetrainAugmentation.None,
                "crop-flip" => RetrainAugmentation.CropAndFlip,
                "resized-crop" => RetrainAugmentation.RandomResizedCrop,
                var a => throw new UsageException($"--augment: '{a}' is not auto, none, crop-flip or resized-crop."),
            },
            Normalization = args.String("normalization", "preset")!.ToLowerInvariant() switch
            {
                "preset" => NormalizationSource.Preset,
                "data" => NormalizationSource.Data,
                var n => throw new UsageException($"--normalization: '{n}' is not preset or data."),
            },
            Network = new ChildNetworkOptions(
                SqueezeExcite: args.Flag("se"),
                Activation: args.Flag("hswish") ? ActivationKind.HSwish : ActivationKind.ReLU6,
                Dropout: args.Double("dropout", 0)),
            Seed = args.Int("seed", 0),
            Resume = args.Flag("resume"),
        };
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
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

        if (output.Json) Console.Out.WriteLine(JsonSerializer.Serialize(metrics, RetrainJson.Options));
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

    private static double? Optional(Args args, string name) => args.String(name) is null ? null : args.Double(name, 0);
}
