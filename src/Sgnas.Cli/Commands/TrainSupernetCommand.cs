using Sgnas.Data;
using Sgnas.IO;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas train-supernet</c>: stage 1, train the unified supernet and leave the checkpoint in a run folder.</summary>
public sealed class TrainSupernetCommand : ICommand
{
    private static readonly SupernetTrainerOptions Defaults = new();

    // Options that fix the schedule: a resumed run keeps the stored ones.
    private static readonly string[] ScheduleOptions =
        { "preset", "epochs", "batch-size", "lr", "label-smoothing", "validation-fraction", "max-train-images", "seed", "sampling", "augment" };

    public string Name => "train-supernet";
    public string Summary => "Train the unified supernet (stage 1) into a run folder; resumable.";
    public string Usage =>
        "  --out DIR                  run folder (required); receives supernet.pt, supernet.optim.pt, supernet.json\n" +
        "  --preset NAME|FILE         (default fashion-small)\n" +
        "  --data PATH                training data (IDX, CIFAR or image folder); default Fashion-MNIST (on --resume: the stored path)\n" +
        $"  --epochs N                 (default {Defaults.Epochs})\n" +
        $"  --batch-size N             (default {Defaults.BatchSize})\n" +
        $"  --lr X                     initial learning rate, cosine decay per step (default {Defaults.LearningRate})\n" +
        $"  --label-smoothing X        (default {Defaults.LabelSmoothing})\n" +
        $"  --validation-fraction X    share held out of the training data (default {Defaults.ValidationFraction})\n" +
        "  --max-train-images N       use a seeded subset of N images (before the split)\n" +
        $"  --seed N                   (default {Defaults.Seed})\n" +
        "  --sampling fair|uniform    path sampling (default fair)\n" +
        "  --augment                  random crop and flip\n" +
        "  --device D                 cpu, cuda, cuda:N (default cpu)\n" +
        "  --threads N                libtorch intra-op threads (default: libtorch's choice; 1 is faster on a busy machine)\n" +
        "  --resume                   continue the run in --out with its stored options\n" +
        "  --json                     final summary as JSON on stdout";

    public int Run(Args args)
    {
        var run = new RunFolder(args.Required("out"));
        bool resume = args.Flag("resume");
        string? dataPath = args.String("data");
        string? device = args.String("device");
        int? threads = args.String("threads") is null ? null : args.Int("threads", 1, min: 1);
        var output = new Output(args.Flag("json"));
        SearchSpacePreset? preset = null;
        SupernetTrainerOptions? options = null;
        if (resume)
        {
            var given = ScheduleOptions.Where(args.Flag).ToList();
            if (given.Count > 0)
                throw new UsageException($"--resume continues with the options stored in {run.SupernetMeta}; drop --{string.Join(", --", given)}.");
        }
        else
        {
            preset = SearchSpacePreset.Load(args.String("preset", "fashion-small")!);
            options = new SupernetTrainerOptions
            {
                Epochs = args.Int("epochs", Defaults.Epochs, min: 1),
                BatchSize = args.Int("batch-size", Defaults.BatchSize, min: 2),
                LearningRate = args.Double("lr", Defaults.LearningRate),
                LabelSmoothing = args.Double("label-smoothing", Defaults.LabelSmoothing),
                ValidationFraction = args.Double("validation-fraction", Defaults.ValidationFraction),
                MaxTrainImages = args.String("max-train-images") is null ? null : args.Int("max-train-images", 0, min: 2),
                Seed = args.Int("seed", Defaults.Seed),
                Sampling = ParseSampling(args.String("sampling")),
                Augment = args.Flag("augment"),
                Device = device ?? Defaults.Device,
                DataPath = dataPath is null ? null : Path.GetFullPath(dataPath),
            };
        }
        args.RejectUnknown(Name);

        using var longRun = LongRun.Start(Name, run.Root);
        if (resume)
        {
            run.RequireSupernet();
            dataPath ??= SupernetTrainer.ReadOptions(run).DataPath;
        }
        if (threads is int n)
        {
            Runtime.TorchNative.EnsureLoaded();
            TorchSharp.torch.set_num_threads(n);
        }
        var data = DatasetLoader.Load(dataPath, DatasetSplit.Train, CifarLabelKind.Fine, ImageFolderData.Shape(preset ?? SupernetCheckpoint.ReadPreset(run)));
        longRun.Kept = $"the checkpoint of the last completed epoch is kept in {run.Root}; continue with 'sgnas train-supernet --out {run.Root} --resume'.";
        SupernetTrainingResult r;
        if (resume)
        {
            output.Log($"resuming {run.Root}");
            r = SupernetTrainer.Resume(run, data, output.Progress(), longRun.Token, device);
        }
        else
        {
            var trainer = new SupernetTrainer(preset!, options);
            output.Log($"training supernet '{preset!.Name}' on {data.Count} images ({options!.Epochs} epochs, {options.Sampling} sampling) into {run.Root}");
            r = trainer.Train(data, run, output.Progress(), longRun.Token);
        }
        output.Result(new
        {
            epochs = r.Epochs, epochsCompleted = r.EpochsCompleted, history = r.History, valTop1 = r.ValidationTop1,
            seconds = r.Seconds, run = r.RunFolder,
        }, () => $"supernet: {r.EpochsCompleted}/{r.Epochs} epochs, validation top-1 {r.ValidationTop1:F4} " +
                 $"(mean over the validation architectures), {r.Seconds:F1} s; checkpoint in {r.RunFolder}");
        return 0;
    }

    private static PathSampling ParseSampling(string? s) => s?.ToLowerInvariant() switch
    {
        null or "fair" => PathSampling.Fair,
        "uniform" => PathSampling.Uniform,
        _ => throw new UsageException($"--sampling: '{s}' is not fair or uniform."),
    };
}
