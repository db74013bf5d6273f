using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Sgnas.Data;
using Sgnas.IO;
using Sgnas.MLNet;
using Sgnas.MLNet.Data;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas demo</c>: the whole SGNAS flow through the public ML.NET API (mlContext.Transforms.SgnasSearch) with
/// budgets sized for a 2-core CPU, then ML.NET evaluation, the saved .zip, and architectures for ten budgets from
/// the one trained generator.
/// </summary>
public sealed class DemoCommand : ICommand
{
    public string Name => "demo";
    public string Summary => "Run the full SGNAS flow on Fashion-MNIST (supernet, generator, retrain, ML.NET model).";
    public string Usage =>
        "  --out DIR                 run folder (default runs/demo-<UTC time>)\n" +
        "  --data PATH               IDX, CIFAR binary or image folder (default Fashion-MNIST)\n" +
        "  --preset NAME|FILE        (default fashion-small)\n" +
        "  --flops X                 FLOPs budget in M (default: middle of the preset's interval)\n" +
        $"  --supernet-epochs N       (default {SgnasSearchDefaults.Supernet.Epochs})\n" +
        $"  --generator-epochs N      (default {SgnasSearchDefaults.Generator.Epochs})\n" +
        $"  --retrain-epochs N        (default {SgnasSearchDefaults.Retrain.Epochs})\n" +
        $"  --max-train-images N      supernet training subset (default {SgnasSearchDefaults.Supernet.MaxTrainImages})\n" +
        "  --device D                cpu, cuda, cuda:N (default cpu)\n" +
        "  --threads N               libtorch intra-op threads\n" +
        "  --seed N                  (default 0)\n" +
        "  --resume                  continue an interrupted demo in --out: finished stages are reused, an interrupted one\n" +
        "                            continues from its last checkpoint (same options as the first run)\n" +
        "  --json                    summary as JSON on stdout";

    public int Run(Args args)
    {
        string outDir = args.String("out") ?? Path.Combine("runs", "demo-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
        string? dataPath = args.String("data");
        var preset = SearchSpacePreset.Load(args.String("preset", "fashion-small")!);
        double? flops = args.String("flops") is null ? null : args.Double("flops", 0);
        var supernet = SgnasSearchDefaults.Supernet;
        var generator = SgnasSearchDefaults.Generator;
        var retrain = SgnasSearchDefaults.Retrain;
        supernet = supernet with
        {
            Epochs = args.Int("supernet-epochs", supernet.Epochs, min: 1),
            MaxTrainImages = args.Int("max-train-images", supernet.MaxTrainImages ?? int.MaxValue, min: 100),
        };
        generator = generator with { Epochs = args.Int("generator-epochs", generator.Epochs, min: 1) };
        retrain = retrain with { Epochs = args.Int("retrain-epochs", retrain.Epochs, min: 1) };
        string device = args.String("device", "cpu")!;
        int seed = args.Int("seed", 0);
        int? threads = args.String("threads") is null ? null : args.Int("threads", 1, min: 1);
        bool resume = args.Flag("resume");
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        if (threads is int n) TorchSharp.torch.set_num_threads(n);
        if (!resume && Directory.Exists(outDir) && Directory.EnumerateFileSystemEntries(outDir).Any())
            throw new UsageException($"--out {outDir} is not empty; choose a new folder (every stage checkpoints there), or pass --resume to continue the demo in it.");
        if (resume && !File.Exists(new RunFolder(outDir).SupernetMeta))
            throw new UsageException($"--resume: {Path.GetFullPath(outDir)} holds no demo to continue (no supernet.json); run without --resume.");
        using var longRun = LongRun.Start(Name, outDir);
        longRun.Kept = $"every stage's last checkpoint is kept in {Path.GetFullPath(outDir)}; continue with the same command and --resume.";

        var clock = Stopwatch.StartNew();
        var ml = new MLContext(seed);
        output.Log($"sgnas demo: preset {preset.Name}, data {dataPath ?? "Fashion-MNIST"}, run folder {Path.GetFullPath(outDir)}");
        var train = ml.Data.LoadFromPath(dataPath, DatasetSplit.Train, preset);
        var test = ml.Data.LoadFromPath(dataPath, DatasetSplit.Test, preset);

        var options = new SgnasSearch.Options
        {
            Preset = args.String("preset", "fashion-small")!,
            RunFolder = outDir, TargetFlopsM = flops, Device = device, Seed = seed,
            Supernet = supernet, Generator = generator, Retrain = retrain,
            TestData = test, TestDataSource = DatasetLoader.Describe(dataPath, DatasetSplit.Test), Progress = output.Progress(),
            ReuseCompletedStages = resume, CancellationToken = longRun.Token,
        };
        var model = ml.Transforms.SgnasSearch(options).Fit(train);
        var report = model.Report!;

        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
        model.Save(ml, train.Schema, model.Run.MlNetModel);

        // One generator, many budgets: ten architectures in one batched forward pass.
        var generatorStage = GeneratorTransformer.Load(outDir, hardLimit: true, device: device);
        double[] budgets;
        IReadOnlyList<Sgnas.Generation.GeneratedArchitecture> generated;
        var genClock = Stopwatch.StartNew();
        using (generatorStage)
        {
            budgets = Sgnas.Generation.ArchitectureGeneratorModel.EvenTargets(generatorStage.Model.LowM, generatorStage.Model.HighM, 10);
            generated = generatorStage.Generate(budgets);
        }
        double genMs = genClock.Elapsed.TotalMilliseconds;

        var summary = new
        {
            runFolder = model.Run.Root,
            modelZip = model.Run.MlNetModel,
            report,
            testData = new { source = report.TestSource, images = report.TestImages },
            mlnet = new { accuracy = metrics.MicroAccuracy, macroAccuracy = metrics.MacroAccuracy, logLoss = metrics.LogLoss },
            budgets = generated.Select(g => new { targetFlopsM = g.TargetFlopsM, flopsM = g.FlopsM, paramsM = g.ParamsM, architecture = g.Architecture.ToString(), repaired = g.Repaired }),
            generateTenMilliseconds = genMs,
            totalSeconds = clock.Elapsed.TotalSeconds,
        };
        AtomicFile.WriteAllText(Path.Combine(model.Run.Root, "demo.json"), JsonSerializer.Serialize(summary, Output.JsonOptions));
        output.Result(summary, () =>
        {
            var s = new System.Text.StringBuilder();
            s.AppendLine($"SGNAS demo ({preset.Name}) finished in {clock.Elapsed:mm\\:ss}; run folder {model.Run.Root}");
            s.AppendLine($"  budget              {report.TargetFlopsM:F3} M FLOPs");
            s.AppendLine($"  architecture        {report.Architecture}{(report.Repaired ? " (repaired to fit)" : "")}");
            s.AppendLine($"  FLOPs / params      {report.FlopsM:F3} M / {report.ParamsM:F4} M");
            s.AppendLine($"  supernet val top-1  {report.SupernetValTop1:P1}");
            s.AppendLine($"  generator           Kendall {report.GeneratorKendallTau:F3}, Pearson {report.GeneratorPearson:F3}, MARE {report.GeneratorMeanAbsRelError:P1}");
            s.AppendLine($"  test top-1 / top-5  {report.TestTop1:P2} / {report.TestTop5:P2} (ML.NET Evaluate: {metrics.MicroAccuracy:P2}, log-loss {metrics.LogLoss:F3})");
            s.AppendLine($"  test images         {report.TestImages} from {report.TestSource}");
            s.AppendLine($"  stage seconds       {string.Join(", ", report.StageSeconds.Select(kv => $"{kv.Key} {kv.Value:F0}"))}");
            s.AppendLine($"  ML.NET model        {model.Run.MlNetModel}");
            s.AppendLine($"  ten budgets, one pass ({genMs:F1} ms):");
            s.AppendLine($"    {"target",8} {"FLOPs",8} {"params",8}  architecture");
            foreach (var g in generated)
                s.AppendLine($"    {g.TargetFlopsM,8:F3} {g.FlopsM,8:F3} {g.ParamsM,8:F4}  {g.Architecture}{(g.Repaired ? " *" : "")}");
            return s.ToString().TrimEnd();
        });
        return 0;
    }
}
