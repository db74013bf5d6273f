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
        "  --data PATH            dataset (default: recorded in supernet.json, else Fashion-MNIST train)\n" +
        "  --device D             cpu, cuda or cuda:N (default cpu)\n" +
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
        string? dataArg = args.String("data");
        string deviceName = args.String("device", "cpu")!;
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        var options = defaults with { Epochs = epochs, CostWeight = lambda, BatchSize = batch, Seed = seed, HardGumbel = hardGumbel };
        options.Validate();

        var device = DeviceSelector.Resolve(deviceName);
        var (net, info) = SupernetCheckpoint.Load(run, device);
        using var _ = net;
        var preset = net.Preset;
        string? dataPath = dataArg ?? GeneratorData.DataPath(info.Options);
        output.Log($"data: {dataPath ?? "Fashion-MNIST (default)"}");
        var data = DatasetLoader.Load(dataPath, DatasetSplit.Train, CifarLabelKind.Fine, ImageFolderData.Shape(preset));
        var validation = GeneratorData.ValidationIndices(data, info.Options, maxVal > 0 ? maxVal : null);
        output.Log($"preset {preset.Name}; {validation.Length} validation images; {epochs} epochs, batch {batch}");

        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        var clock = Stopwatch.StartNew();
        try
        {
            var norm = new ChannelNormalization(preset.Mean.ToArray(), preset.Std.ToArray());
            using var model = new GeneratorTrainer(net, options, device).Train(data, validation, norm, output.Progress(), cts.Token);
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
                    h.MeanAbsRelError, h.EvalConstraintLoss, h.MiddleTop1, h.TargetsM, h.GeneratedM, h.Seconds,
                }),
            };
            output.Result(result, () => string.Join("\n", model.History.Select(h =>
                    $"epoch {h.Epoch,3}  tau {h.Temperature:F3}  loss {h.Loss:F4}  kendall {h.KendallTau:F3}  pearson {h.Pearson:F3}  " +
                    $"mare {h.MeanAbsRelError:P1}  top1(mid) {h.MiddleTop1:P1}")) +
                $"\nbest epoch {model.BestEpoch} (lowest constraint loss over {options.EvaluationTargets} targets); written {run.GeneratorWeights}");
        }
        finally { Console.CancelKeyPress -= onCancel; }
        return 0;
    }
}
