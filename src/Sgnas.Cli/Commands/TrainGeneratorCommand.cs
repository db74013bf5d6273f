using System.Diagnostics;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Runtime;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas train-generator</c>: SGNAS stage 2 on the supernet of a run folder.</summary>
public sealed class TrainGeneratorCommand : ICommand
{
    public string Name => "train-generator";
    public string Summary => "Train the architecture generator on a run's frozen supernet (stage 2).";
    public string Usage =>
        "  --run DIR              run folder holding supernet.json/.pt (generator.pt/.json are written there)\n" +
        $"  --epochs E             epochs over the validation split (default {new GeneratorOptions().Epochs}, paper)\n" +
        "  --lambda L             cost weight λ of Eq. 10 with FLOPs in M (default: scaled to the interval; paper 3e-4)\n" +
        "  --batch-size N         images per step (default 128, paper)\n" +
        "  --seed N               seed of init, noise, targets and prior pool (default 0)\n" +
        "  --max-val-images N     use at most N validation images\n" +
        "  --hard-gumbel          straight-through hard Gumbel-softmax (default soft, as the reference)\n" +
        "  --prior bucketed|single   random prior: one per FLOPs bucket (default) or a single random one (paper, reference)\n" +
        "  --selection accuracy|fit  epoch kept: best mean supernet top-1 among epochs within the FLOPs tolerance (default),\n" +
        "                         or the lowest constraint loss\n" +
        $"  --selection-tolerance X   largest mean relative FLOPs error of a selectable epoch (default {new GeneratorOptions().SelectionTolerance})\n" +
        "  --data PATH            dataset (default: recorded in supernet.json, else Fashion-MNIST train)\n" +
        "  --device D             cpu, cuda or cuda:N (default cpu)\n" +
        "  --resume               continue an interrupted generator training (per-epoch checkpoint in DIR/generator-training)\n" +
        "  --force                replace an existing generator; search results, retraining, model.zip/.onnx and demo.json\n" +
        "                         that depend on it are moved to DIR/stale-<time>/\n" +
        "  --json";

    public int Run(Args args)
    {
        var run = new RunFolder(args.Required("run"));
        var defaults = new GeneratorOptions();
        int epochs = args.Int("epochs", defaults.Epochs, min: 1);
        double? lambda = args.String("lambda") is null ? null : args.Double("lambda", 0);
        int batch = args.Int("batch-size", defaults.BatchSize, min: 1);
        int seed = args.Int("seed", defaults.Seed);
        int maxVal = args.Int("max-val-images", 0, min: 0);
        bool hardGumbel = args.Flag("hard-gumbel");
        var selection = args.String("selection", "accuracy") switch
        {
            "accuracy" => GeneratorSelectionRule.Accuracy,
            "fit" => GeneratorSelectionRule.ConstraintFit,
            var v => throw new UsageException($"--selection must be 'accuracy' or 'fit'; got '{v}'."),
        };
        double tolerance = args.Double("selection-tolerance", defaults.SelectionTolerance);
        var prior = args.String("prior", "bucketed") switch
        {
            "bucketed" => PriorKind.Bucketed,
            "single" => PriorKind.SingleRandom,
            var v => throw new UsageException($"--prior must be 'bucketed' or 'single'; got '{v}'."),
        };
        string? dataArg = args.String("data");
        string deviceName = args.String("device", "cpu")!;
        bool resume = args.Flag("resume"), force = args.Flag("force");
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        if (resume && force) throw new UsageException("--resume continues the interrupted training and --force starts over; give one of them.");
        var options = defaults with { Epochs = epochs, CostWeight = lambda, BatchSize = batch, Seed = seed, HardGumbel = hardGumbel,
            Selection = selection, SelectionTolerance = tolerance, Prior = prior };
        options.Validate();

        run.RequireSupernet();
        using var longRun = LongRun.Start(Name, run.Root);
        var checkpoint = new GeneratorCheckpoint(run.GeneratorTrainingDir, resume);
        bool hasGenerator = File.Exists(run.GeneratorMeta) || File.Exists(run.GeneratorWeights);
        if (!resume && !force)
        {
            if (hasGenerator)
                throw new InvalidOperationException(
                    $"{run.Root} already holds a trained generator ({Path.GetFileName(run.GeneratorMeta)}). Pass --force to replace it " +
                    "(search results, retraining and models built from it are moved aside), or choose another run folder.");
            if (checkpoint.Exists)
                throw new InvalidOperationException(
                    $"{run.GeneratorTrainingDir} holds an interrupted generator training. Pass --resume to continue it or --force to start over.");
        }
        if (resume && !checkpoint.Exists)
        {
            if (hasGenerator) throw new InvalidOperationException($"{run.Root} holds a finished generator and no training to resume; pass --force to train a new one.");
            throw new InvalidOperationException($"{run.GeneratorTrainingDir} holds no generator training checkpoint to resume; run without --resume.");
        }
        string? stale = null;
        if (force)
        {
            if (Directory.Exists(run.GeneratorTrainingDir)) Directory.Delete(run.GeneratorTrainingDir, recursive: true);
            if (hasGenerator)
            {
                stale = run.MoveAsideGeneratorDependents();
                if (stale is not null) output.Log($"replacing the generator: its dependent results were moved to {stale}");
            }
        }

        var device = DeviceSelector.Resolve(deviceName);
        var (net, info) = SupernetCheckpoint.Load(run, device);
        using var _ = net;
        var preset = net.Preset;
        string? dataPath = dataArg ?? GeneratorData.DataPath(info.Options);
        output.Log($"data: {dataPath ?? "Fashion-MNIST (default)"}");
        var data = DatasetLoader.Load(dataPath, DatasetSplit.Train, CifarLabelKind.Fine, ImageFolderData.Shape(preset));
        var validation = GeneratorData.ValidationIndices(data, info.Options, maxVal > 0 ? maxVal : null);
        output.Log($"preset {preset.Name}; {validation.Length} validation images; {epochs} epochs, batch {batch}");

        longRun.Kept = $"the generator training checkpoint of the last completed epoch is kept in {run.GeneratorTrainingDir}; " +
                       $"continue with 'sgnas train-generator --run {run.Root} --resume' and the same options.";
        var clock = Stopwatch.StartNew();
        {
            var norm = new ChannelNormalization(preset.Mean.ToArray(), preset.Std.ToArray());
            using var model = new GeneratorTrainer(net, options, device).Train(data, validation, norm, output.Progress(), longRun.Token, checkpoint);
            if (hasGenerator && !resume)
            {
                // --force: the old generator files go only now that the new one is trained.
                stale = run.MoveAside([run.GeneratorWeights, run.GeneratorMeta, ArchitectureGeneratorModel.Set(run).ManifestPath], into: stale);
                if (stale is not null) output.Log($"the replaced generator was moved to {stale}");
            }
            model.Save(run);
            double width = model.HighM - model.LowM;
            var result = new
            {
                run = run.Root,
                preset = preset.Name,
                constraintLowM = model.LowM,
                constraintHighM = model.HighM,
                costWeight = options.ResolveCostWeight(width),
                constraintMarginM = options.ResolveMarginM(width),
                validationImages = validation.Length,
                bestEpoch = model.BestEpoch,
                seconds = clock.Elapsed.TotalSeconds,
                history = model.History.Select(h => new
                {
                    h.Epoch, h.Temperature, h.Loss, h.CrossEntropy, h.ConstraintLoss, h.KendallTau, h.Pearson,
                    h.MeanAbsRelError, h.EvalConstraintLoss, h.WithinTolerance, h.MeanTop1, h.Top1PerTarget, h.AccuracyTargetsM,
                    h.MiddleTop1, h.TargetsM, h.GeneratedM, h.Seconds,
                }),
            };
            output.Result(result, () => string.Join("\n", model.History.Select(h =>
                    $"epoch {h.Epoch,3}  tau {h.Temperature:F3}  loss {h.Loss:F4}  kendall {h.KendallTau:F3}  pearson {h.Pearson:F3}  " +
                    $"mare {h.MeanAbsRelError:P1}{(h.WithinTolerance ? " (fits)" : "       ")}  lc {h.EvalConstraintLoss:G3}  " +
                    $"top1(mean of {h.Top1PerTarget.Length}) {h.MeanTop1:P1}{(h.Epoch == model.BestEpoch ? "  <- kept" : "")}")) +
                $"\nkept epoch {model.BestEpoch} (" + (options.Selection == GeneratorSelectionRule.Accuracy && model.History.Any(h => GeneratorSelection.WithinTolerance(h, options.SelectionTolerance))
                    ? $"best mean supernet top-1 over {options.AccuracyTargets} targets among epochs with mean relative FLOPs error <= {options.SelectionTolerance:P0}"
                    : options.Selection == GeneratorSelectionRule.Accuracy
                    ? $"no epoch has mean relative FLOPs error <= {options.SelectionTolerance:P0}: lowest constraint loss over {options.EvaluationTargets} targets"
                    : $"lowest constraint loss over {options.EvaluationTargets} targets") + $"); written {run.GeneratorWeights}");
        }
        return 0;
    }
}
