using System.CommandLine;
using Sgnas.Data;
using Sgnas.IO;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas train-supernet</c>: stage 1, train the unified supernet and leave the checkpoint in a run folder.</summary>
public sealed class TrainSupernetCommand : SgnasCommand
{
    private static readonly SupernetTrainerOptions Defaults = new();

    private readonly Option<string?> _out = CliOptions.Out("run folder; receives supernet.pt, supernet.optim.pt, supernet.json", required: true);
    private readonly Option<string> _preset = CliOptions.Preset();
    private readonly Option<string?> _data = CliOptions.Data("training data: IDX, CIFAR or image-folder tree (default Fashion-MNIST; on --resume the stored path)");
    private readonly Option<int> _epochs = CliOptions.Int("--epochs", "epochs", Defaults.Epochs, min: 1);
    private readonly Option<int> _batchSize = CliOptions.Int("--batch-size", "images per step", Defaults.BatchSize, min: 2);
    private readonly Option<double> _lr = CliOptions.Double("--lr", "initial learning rate, cosine decay per step", Defaults.LearningRate, min: 0, minExclusive: true);
    private readonly Option<double> _labelSmoothing = CliOptions.Double("--label-smoothing", "label smoothing", Defaults.LabelSmoothing, min: 0, max: 1, maxExclusive: true);
    private readonly Option<double> _validationFraction = CliOptions.Double("--validation-fraction", "share held out of the training data", Defaults.ValidationFraction, min: 0, max: 1, minExclusive: true, maxExclusive: true);
    private readonly Option<int?> _maxTrainImages = CliOptions.IntOrNull("--max-train-images", "use a seeded subset of N images (before the split)", min: 2);
    private readonly Option<int> _seed = CliOptions.Seed(Defaults.Seed);
    private readonly Option<string> _sampling = CliOptions.Choice("--sampling", "path sampling", "fair", "fair", "uniform");
    private readonly Option<int?> _paths = CliOptions.IntOrNull("--paths-per-step", "paths per step K (default: the recipe's, paper 3, reference 4)", min: 1);
    private readonly Option<bool> _augment = CliOptions.Flag("--augment", "random crop and flip");
    private readonly Option<string> _recipe = CliOptions.Choice("--recipe",
        "paper: K = 3 paths, lr 0.045, wd 4e-5, no smoothing; reference: K = 4, lr 0.064, wd 4e-4, smoothing 0.1, reference init (--lr and --label-smoothing override)",
        "paper", "paper", "reference");
    private readonly Option<string> _device = CliOptions.Device(Defaults.Device);
    private readonly Option<int?> _threads = CliOptions.Threads();
    private readonly Option<bool> _resume = CliOptions.Resume("continue the run in --out with its stored options");

    public override string Name => "train-supernet";
    public override string Summary => "Train the unified supernet (stage 1) into a run folder; resumable.";

    protected override int Run(ParseResult parse)
    {
        // Typed on the command line, not a default.
        bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
        var run = new RunFolder(parse.GetValue(_out)!);
        bool resume = parse.GetValue(_resume);
        string? dataPath = parse.GetValue(_data);
        string? device = Given(_device) ? parse.GetValue(_device) : null;
        int? threads = parse.GetValue(_threads);
        using var output = OpenOutput(parse);
        SearchSpacePreset? preset = null;
        SupernetTrainerOptions? options = null;
        if (resume)
        {
            // Options that fix the schedule: a resumed run keeps the stored ones.
            Option[] schedule = [_preset, _epochs, _batchSize, _lr, _labelSmoothing, _validationFraction, _maxTrainImages, _seed, _sampling, _augment, _recipe, _paths];
            var given = schedule.Where(Given).Select(o => o.Name).ToList();
            if (given.Count > 0)
                throw new UsageException($"--resume continues with the options stored in {run.SupernetMeta}; drop {string.Join(", ", given)}.");
        }
        else
        {
            preset = CliOptions.LoadPreset(parse, _preset);
            // The recipe is the base; --lr and --label-smoothing replace its values only when given.
            var recipe = parse.GetValue(_recipe) == "reference" ? SupernetTrainerOptions.Reference : Defaults;
            options = recipe with
            {
                Epochs = parse.GetValue(_epochs),
                BatchSize = parse.GetValue(_batchSize),
                LearningRate = Given(_lr) ? parse.GetValue(_lr) : recipe.LearningRate,
                LabelSmoothing = Given(_labelSmoothing) ? parse.GetValue(_labelSmoothing) : recipe.LabelSmoothing,
                PathsPerStep = parse.GetValue(_paths) ?? recipe.PathsPerStep,
                ValidationFraction = parse.GetValue(_validationFraction),
                MaxTrainImages = parse.GetValue(_maxTrainImages),
                Seed = parse.GetValue(_seed),
                Sampling = parse.GetValue(_sampling) == "uniform" ? PathSampling.Uniform : PathSampling.Fair,
                Augment = parse.GetValue(_augment),
                Device = device ?? Defaults.Device,
                DataPath = dataPath is null ? null : Path.GetFullPath(dataPath),
            };
        }

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
}
