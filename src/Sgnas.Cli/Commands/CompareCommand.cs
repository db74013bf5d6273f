using System.CommandLine;
using Sgnas.IO;
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
    private readonly Option<double[]?> _flops = CliOptions.Numbers("--flops", "FLOPs targets in M", required: true, helpName: "a,b,c");
    private readonly Option<string?> _out = CliOptions.Out("output folder (default RUN/search/compare)");
    private readonly Option<bool> _hardLimit = CliOptions.Flag("--hard-limit", "let the generator repair architectures over their target (default: raw generation)");
    private readonly Option<int> _randomPoints = CliOptions.Int("--random-points", "random architectures scored for Fig. 6a", 300, min: 0);
    private readonly SearchCliOptions _search = new();
    private readonly Option<bool> _resume = CliOptions.Resume("continue an interrupted compare: candidates it scored (OUT/journal) are read back, not scored again");
    private readonly Option<bool> _withUnas = CliOptions.Flag("--unas", "also run UNAS (re-runs per budget; --unas-* options)");
    private readonly UnasCliOptions _unas = new();

    public override string Name => "compare";
    public override string Summary => "Compare random, evolution (and the generator) over several FLOPs targets; write results and plots.";

    protected override int Run(ParseResult parse)
    {
        string run = parse.GetValue(_run)!;
        var targets = parse.GetValue(_flops)!;
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
        var journals = SearchJournals.Open(Path.Combine(dir, "journal"), session.Supernet.Preset, SearchCliOptions.Key(o, hardLimit), resume, refuseExisting: true);
        longRun.Kept = $"every scored candidate is journaled in {journals.Folder}; continue with the same command and --resume.";
        var strategies = SearchStrategies.ForComparison(session, o.Random, o.Evolution, hardLimit, output.Log).Select(journals.Wrap).ToList();
        if (withUnas) strategies.Add(UnasSearchStrategy.FromSession(session, unas));
        output.Log($"comparing {string.Join(", ", strategies.Select(s => s.Name))} on {targets.Length} targets; " +
                   $"{session.Evaluator.Data.RecalibrationCount} recalibration / {session.Evaluator.Data.ValidationCount} validation images");
        var result = new ComparisonHarness(session.Evaluator, strategies)
            .Run(targets, randomPoints, o.Random.Seed, longRun.Token, output.Progress());
        if (journals.Recorded > 0) output.Log($"resumed: {journals.Recorded} scored candidates read back from {journals.Folder}");
        var files = ComparisonReport.Write(result, dir);
        output.Result(ComparisonReport.ToJson(result), () => ComparisonReport.ToTable(result) + "\nwrote " + string.Join(", ", files));
        return 0;
    }
}
