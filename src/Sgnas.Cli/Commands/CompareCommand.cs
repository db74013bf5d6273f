using System.CommandLine;
using Sgnas.Cost;
using Sgnas.IO;
using Sgnas.MLNet.Latency;
using Sgnas.MLNet.Reports;
using Sgnas.Runtime;
using Sgnas.Search;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas compare</c>: SGNAS Table 1 / Fig. 6a / Fig. 7a on one supernet: every strategy for every FLOPs target,
/// one evaluation protocol, results and plots written to a folder.
/// </summary>
public sealed class CompareCommand : SgnasCommand
{
    private readonly Option<string> _run = CliOptions.Run("run folder with supernet.pt/json (the generator is used if generator.json exists)");
    private readonly Option<double[]?> _flops = CliOptions.Numbers("--flops", "FLOPs targets in M (or --budget-ms)", helpName: "a,b,c");
    private readonly LatencyBudgetOptions _latency = new();
    private readonly Option<bool> _measureLatency = CliOptions.Flag("--measure-latency", "time every pick in ONNX Runtime (batch 1, 1 thread) and report it beside FLOPs");
    private readonly Option<string?> _out = CliOptions.Out("output folder (default RUN/search/compare)");
    private readonly Option<bool> _hardLimit = CliOptions.Flag("--hard-limit", "let the generator repair architectures over their target (default: raw generation)");
    private readonly Option<int> _randomPoints = CliOptions.Int("--random-points", "random architectures scored for Fig. 6a", 300, min: 0);
    private readonly SearchCliOptions _search = new();
    private readonly Option<bool> _resume = CliOptions.Resume("continue an interrupted compare: candidates it scored (OUT/journal) are read back, not scored again");
    private readonly Option<bool> _withUnas = CliOptions.Flag("--unas", "also run UNAS (re-runs per budget; --unas-* options)");
    private readonly UnasCliOptions _unas = new();

    public override string Name => "compare";
    public override string Summary => "Compare random, evolution (and the generator) over several FLOPs targets or latency budgets; write results and plots.";

    protected override int Run(ParseResult parse)
    {
        string run = parse.GetValue(_run)!;
        var flops = parse.GetValue(_flops) is { Length: > 0 } f ? f : null;
        var latency = _latency.ReadAll(parse);
        if ((flops is null) == (latency is null))
            throw new UsageException("give FLOPs targets (--flops a,b,c in M) or latency budgets (--budget-ms a,b,c in ms with --latency-table), one of the two.");
        var targets = flops ?? latency!.Value.BudgetsMs;
        bool measure = parse.GetValue(_measureLatency);
        string? outDir = parse.GetValue(_out);
        int randomPoints = parse.GetValue(_randomPoints);
        bool hardLimit = parse.GetValue(_hardLimit);
        bool resume = parse.GetValue(_resume);
        var o = _search.Read(parse);
        bool withUnas = parse.GetValue(_withUnas);
        var unas = _unas.Read(parse, o.Random.Seed);
        using var output = OpenOutput(parse);

        var runFolder = new RunFolder(run);
        runFolder.RequireSupernet();
        var dir = Path.GetFullPath(outDir ?? Path.Combine(runFolder.SearchDir, "compare"));
        using var longRun = LongRun.Start(Name, runFolder.Root);
        RunPreflight.Check(dir);
        var device = DeviceSelector.Resolve(o.Device);
        using var session = SearchSession.Open(run, device, o.Session);
        var cost = latency is { } lat ? session.ConstraintCost(ConstraintKind.Latency, lat.TablePath) : null;
        var journals = SearchJournals.Open(Path.Combine(dir, "journal"), session.Supernet.Preset, SearchCliOptions.Key(o, hardLimit, cost), resume,
            refuseExisting: true, cost is null ? "M" : "ms");
        longRun.Kept = $"every scored candidate is journaled in {journals.Folder}; continue with the same command and --resume.";
        var strategies = SearchStrategies.ForComparison(session, cost, o.Random, o.Evolution, hardLimit, output.Log).Select(journals.Wrap).ToList();
        if (withUnas) strategies.Add(cost is null ? UnasSearchStrategy.FromSession(session, unas) : UnasSearchStrategy.FromSession(session, unas, cost));
        output.Log($"comparing {string.Join(", ", strategies.Select(s => s.Name))} on {targets.Length} targets; " +
                   $"{session.Evaluator.Data.RecalibrationCount} recalibration / {session.Evaluator.Data.ValidationCount} validation images");
        var result = new ComparisonHarness(session.Evaluator, strategies)
            .Run(targets, randomPoints, o.Random.Seed, longRun.Token, output.Progress());
        if (journals.Recorded > 0) output.Log($"resumed: {journals.Recorded} scored candidates read back from {journals.Folder}");
        if (measure)
        {
            output.Log("timing every pick in ONNX Runtime (batch 1, 1 thread)");
            result = OnnxLatency.MeasureComparison(result, session.Supernet.Preset, cancellationToken: longRun.Token);
        }
        var files = ComparisonReport.Write(result, dir);
        output.Result(ComparisonReport.ToJson(result), () => ComparisonReport.ToTable(result) + "\nwrote " + string.Join(", ", files));
        return 0;
    }
}
