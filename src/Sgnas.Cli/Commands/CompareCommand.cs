using Sgnas.IO;
using Sgnas.MLNet.Reports;
using Sgnas.Runtime;
using Sgnas.Search;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas compare</c>: SGNAS Table 1 / Fig. 6a / Fig. 7a on one supernet: every strategy for every FLOPs target,
/// one evaluation protocol, results and plots written to a folder.
/// </summary>
public sealed class CompareCommand : ICommand
{
    public string Name => "compare";
    public string Summary => "Compare random, evolution (and the generator) over several FLOPs targets; write results and plots.";
    public string Usage =>
        "  --run DIR                  run folder with supernet.pt/json (required; generator used if generator.json exists)\n" +
        "  --flops a,b,c              FLOPs targets in M (required)\n" +
        "  --out DIR2                 output folder (default DIR/search/compare)\n" +
        "  --hard-limit               let the generator repair architectures over their target (default: raw generation)\n" +
        "  --random-points N          random architectures scored for Fig. 6a (default 300)\n" +
        "  --evaluations N  --population N  --iterations N  --top-k N\n" +
        "  --recalibration-images N  --val-images N  --dataset PATH  --seed N  --device D\n" +
        "  --resume                   reuse the searches an interrupted compare finished (OUT/finished/)\n" +
        "  --unas                     also run UNAS (re-runs per budget; options below)\n" +
        UnasCliOptions.Usage +
        "  --json";

    public int Run(Args args)
    {
        string run = args.Required("run");
        var targets = args.Doubles("flops") ?? throw new UsageException("--flops is required (comma-separated FLOPs targets in M).");
        string? outDir = args.String("out");
        int randomPoints = args.Int("random-points", 300, 0);
        bool hardLimit = args.Flag("hard-limit");
        bool resume = args.Flag("resume");
        var o = SearchOptionsParser.Parse(args);
        bool withUnas = args.Flag("unas");
        var unas = UnasCliOptions.Parse(args);
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);

        var runFolder = new RunFolder(run);
        runFolder.RequireSupernet();
        var dir = Path.GetFullPath(outDir ?? Path.Combine(runFolder.SearchDir, "compare"));
        using var longRun = LongRun.Start(Name, runFolder.Root);
        RunPreflight.Check(dir);
        var device = DeviceSelector.Resolve(o.Device);
        using var session = SearchSession.Open(run, device, o.Session);
        var finished = new FinishedSearches(Path.Combine(dir, "finished"), session.Supernet.Preset,
            SearchOptionsParser.Key(o, hardLimit), resume);
        if (!resume && Directory.Exists(finished.Folder) && Directory.EnumerateFiles(finished.Folder, "*.json").Any())
            throw new InvalidOperationException($"{finished.Folder} holds searches of an earlier compare; pass --resume to reuse them, or delete the folder.");
        longRun.Kept = $"every finished (strategy, target) search is kept in {finished.Folder}; continue with the same command and --resume.";
        var strategies = SearchStrategies.ForComparison(session, o.Random, o.Evolution, hardLimit, output.Log).Select(finished.Wrap).ToList();
        if (withUnas) strategies.Add(finished.Wrap(UnasSearchStrategy.FromSession(session, unas)));
        output.Log($"comparing {string.Join(", ", strategies.Select(s => s.Name))} on {targets.Length} targets; " +
                   $"{session.Evaluator.Data.RecalibrationCount} recalibration / {session.Evaluator.Data.ValidationCount} validation images");
        var result = new ComparisonHarness(session.Evaluator, strategies)
            .Run(targets, randomPoints, o.Random.Seed, longRun.Token, output.Progress());
        if (finished.Reused > 0) output.Log($"reused {finished.Reused} finished searches from {finished.Folder}");
        var files = ComparisonReport.Write(result, dir);
        output.Result(ComparisonReport.ToJson(result), () => ComparisonReport.ToTable(result) + "\nwrote " + string.Join(", ", files));
        return 0;
    }
}
