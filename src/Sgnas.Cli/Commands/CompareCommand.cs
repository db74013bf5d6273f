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
        var o = SearchOptionsParser.Parse(args);
        bool withUnas = args.Flag("unas");
        var unas = UnasCliOptions.Parse(args);
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);

        var device = DeviceSelector.Resolve(o.Device);
        using var session = SearchSession.Open(run, device, o.Session);
        var strategies = SearchStrategies.ForComparison(session, o.Random, o.Evolution, hardLimit, output.Log);
        if (withUnas) strategies = strategies.Append(UnasSearchStrategy.FromSession(session, unas)).ToList();
        output.Log($"comparing {string.Join(", ", strategies.Select(s => s.Name))} on {targets.Length} targets; " +
                   $"{session.Evaluator.Data.RecalibrationCount} recalibration / {session.Evaluator.Data.ValidationCount} validation images");
        var result = new ComparisonHarness(session.Evaluator, strategies)
            .Run(targets, randomPoints, o.Random.Seed, CancellationToken.None, output.Progress());
        var dir = outDir ?? Path.Combine(session.Run.SearchDir, "compare");
        var files = ComparisonReport.Write(result, dir);
        output.Result(ComparisonReport.ToJson(result), () => ComparisonReport.ToTable(result) + "\nwrote " + string.Join(", ", files));
        return 0;
    }
}
