using System.CommandLine;
using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Runtime;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas train-generator</c>: SGNAS stage 2 on the supernet of a run folder.</summary>
public sealed class TrainGeneratorCommand : SgnasCommand
{
    private static readonly GeneratorOptions Defaults = new();

    private readonly Option<string> _run = CliOptions.Run("run folder holding supernet.json/.pt (generator.pt/.json are written there)");
    private readonly Option<int> _epochs = CliOptions.Int("--epochs", "epochs over the validation split (paper)", Defaults.Epochs, min: 1);
    private readonly Option<double?> _lambda = CliOptions.DoubleOrNull("--lambda", "cost weight λ of Eq. 10 with FLOPs in M (default: scaled to the interval; paper 3e-4)", min: 0, helpName: "L");
    private readonly Option<double?> _margin = CliOptions.DoubleOrNull("--constraint-margin",
        "margin of the constraint loss in M (default: 1 % of the interval width; reference 0.1 on ImageNet)", min: 0, helpName: "M");
    private readonly Option<int> _batchSize = CliOptions.Int("--batch-size", "images per step (paper)", Defaults.BatchSize, min: 1);
    private readonly Option<int> _seed = CliOptions.Seed(Defaults.Seed, "seed of init, noise, targets and prior pool");
    private readonly Option<int> _maxValImages = CliOptions.Int("--max-val-images", "use at most N validation images (0 = all)", 0, min: 0);
    private readonly Option<bool> _hardGumbel = CliOptions.Flag("--hard-gumbel", "straight-through hard Gumbel-softmax (default soft, as the reference)");
    private readonly Option<int> _extraCostTargets = CliOptions.Int("--extra-cost-targets",
        "extra targets per step whose constraint loss joins the step's (no supernet pass; 0 = paper, one target per step)", Defaults.ExtraCostTargets, min: 0);
    private readonly Option<int> _hiddenChannels = CliOptions.Int("--hidden-channels",
        "width of G's hidden 3×3 convolutions (paper 32; fewer generate faster, docs/performance.md \"Generation\")", Defaults.HiddenChannels, min: 1);
    private readonly Option<string> _prior = CliOptions.Choice("--prior", "random prior: one per FLOPs bucket, or a single random one (paper, reference)", "bucketed", "bucketed", "single");
    private readonly Option<int> _priorBuckets = CliOptions.Int("--prior-buckets",
        "FLOPs buckets of the bucketed prior pool, one random prior each", Defaults.PriorBuckets, min: 1);
    private readonly Option<string> _selection = CliOptions.Choice("--selection",
        "epoch kept: best mean supernet top-1 among epochs within the FLOPs tolerance, or the lowest constraint loss", "accuracy", "accuracy", "fit");
    private readonly Option<double> _selectionTolerance = CliOptions.Double("--selection-tolerance", "largest mean relative FLOPs error of a selectable epoch",
        Defaults.SelectionTolerance, min: 0);
    private readonly Option<string?> _latencyTable = CliOptions.Text("--latency-table",
        "train for latency budgets in ms predicted by this table (from 'sgnas latency-table'); default: FLOPs", "FILE");
    private readonly Option<string?> _data = CliOptions.Data("dataset (default: recorded in supernet.json, else Fashion-MNIST train)");
    private readonly Option<string> _device = CliOptions.Device();
    private readonly Option<bool> _resume = CliOptions.Resume("continue an interrupted generator training (per-epoch checkpoint in DIR/generator-training)");
    private readonly Option<bool> _force = CliOptions.Flag("--force",
        "replace an existing generator; search results, retraining, model.zip/.onnx and demo.json that depend on it are moved to DIR/stale-<time>/");

    public override string Name => "train-generator";
    public override string Summary => "Train the architecture generator on a run's frozen supernet (stage 2).";

    protected override int Run(ParseResult parse)
    {
        var run = new RunFolder(parse.GetValue(_run)!);
        var defaults = Defaults;
        int epochs = parse.GetValue(_epochs);
        double? lambda = parse.GetValue(_lambda);
        double? margin = parse.GetValue(_margin);
        int batch = parse.GetValue(_batchSize);
        int seed = parse.GetValue(_seed);
        int maxVal = parse.GetValue(_maxValImages);
        bool hardGumbel = parse.GetValue(_hardGumbel);
        int extraCostTargets = parse.GetValue(_extraCostTargets);
        int hiddenChannels = parse.GetValue(_hiddenChannels);
        int priorBuckets = parse.GetValue(_priorBuckets);
        var selection = parse.GetValue(_selection) == "fit" ? GeneratorSelectionRule.ConstraintFit : GeneratorSelectionRule.Accuracy;
        double tolerance = parse.GetValue(_selectionTolerance);
        var prior = parse.GetValue(_prior) == "single" ? PriorKind.SingleRandom : PriorKind.Bucketed;
        string? tablePath = parse.GetValue(_latencyTable);
        if (tablePath is not null && !File.Exists(tablePath)) throw new UsageException($"--latency-table: {tablePath} does not exist.");
        string? dataArg = parse.GetValue(_data);
        string deviceName = parse.GetValue(_device)!;
        bool resume = parse.GetValue(_resume), force = parse.GetValue(_force);
        using var output = OpenOutput(parse);
        if (resume && force) throw new UsageException("--resume continues the interrupted training and --force starts over; give one of them.");
        var options = defaults with { Epochs = epochs, CostWeight = lambda, ConstraintMarginM = margin, BatchSize = batch, Seed = seed, HardGumbel = hardGumbel,
            Selection = selection, SelectionTolerance = tolerance, Prior = prior, ExtraCostTargets = extraCostTargets,
            HiddenChannels = hiddenChannels, PriorBuckets = priorBuckets };
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
        // Latency: the relaxed cost is the table's twin of Eq. 9 (docs/latency.md); null trains against FLOPs.
        var cost = tablePath is null ? null : ConstraintCost.Create(ConstraintKind.Latency, preset, LatencyTable.Load(tablePath));
        if (cost is not null) output.Log($"constraint: latency in ms predicted by {tablePath}");
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
            using var model = new GeneratorTrainer(net, options, device, cost).Train(data, validation, norm, output.Progress(), longRun.Token, checkpoint);
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
                constraint = model.Kind == ConstraintKind.Latency ? "latency" : "flops",
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
