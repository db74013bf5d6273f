using System.CommandLine;
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
public sealed class DemoCommand : SgnasCommand
{
    private readonly Option<string?> _out = CliOptions.Out("run folder (default runs/demo-<UTC time>)");
    private readonly Option<string?> _data = CliOptions.Data();
    private readonly Option<string> _preset = CliOptions.Preset();
    private readonly Option<double?> _flops = CliOptions.DoubleOrNull("--flops", "FLOPs budget in M (default: middle of the preset's interval)", min: 0, minExclusive: true);
    private readonly Option<int> _supernetEpochs = CliOptions.Int("--supernet-epochs", "supernet epochs", SgnasSearchDefaults.Supernet.Epochs, min: 1);
    private readonly Option<int> _generatorEpochs = CliOptions.Int("--generator-epochs", "generator epochs", SgnasSearchDefaults.Generator.Epochs, min: 1);
    private readonly Option<int> _retrainEpochs = CliOptions.Int("--retrain-epochs", "retraining epochs", SgnasSearchDefaults.Retrain.Epochs, min: 1);
    private readonly Option<int> _maxTrainImages = CliOptions.Int("--max-train-images", "supernet training subset",
        SgnasSearchDefaults.Supernet.MaxTrainImages ?? int.MaxValue, min: 100);
    private readonly Option<string> _device = CliOptions.Device();
    private readonly Option<int?> _threads = CliOptions.Threads();
    private readonly Option<int> _seed = CliOptions.Seed();
    private readonly Option<bool> _resume = CliOptions.Resume(
        "continue an interrupted demo in --out: finished stages are reused, an interrupted one continues from its last checkpoint (same options as the first run)");

    public override string Name => "demo";
    public override string Summary => "Run the full SGNAS flow on Fashion-MNIST (supernet, generator, retrain, ML.NET model).";

    protected override int Run(ParseResult parse)
    {
        string outDir = parse.GetValue(_out) ?? Path.Combine("runs", "demo-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
        string? dataPath = parse.GetValue(_data);
        var preset = CliOptions.LoadPreset(parse, _preset);
        double? flops = parse.GetValue(_flops);
        var supernet = SgnasSearchDefaults.Supernet with
        {
            Epochs = parse.GetValue(_supernetEpochs),
            MaxTrainImages = parse.GetValue(_maxTrainImages),
        };
        var generator = SgnasSearchDefaults.Generator with { Epochs = parse.GetValue(_generatorEpochs) };
        var retrain = SgnasSearchDefaults.Retrain with { Epochs = parse.GetValue(_retrainEpochs) };
        string device = parse.GetValue(_device)!;
        int seed = parse.GetValue(_seed);
        int? threads = parse.GetValue(_threads);
        bool resume = parse.GetValue(_resume);
        using var output = OpenOutput(parse);
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
            Preset = parse.GetValue(_preset)!,
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
