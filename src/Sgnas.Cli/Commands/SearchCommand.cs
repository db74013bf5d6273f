using System.CommandLine;
using System.Globalization;
using Sgnas.Cost;
using Sgnas.IO;
using Sgnas.Runtime;
using Sgnas.Search;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas search</c>: one search (random, evolution, the generator or UNAS) for one target on a trained supernet.</summary>
public sealed class SearchCommand : SgnasCommand
{
    private readonly Option<string> _run = CliOptions.Run("run folder with supernet.pt/json");
    private readonly Option<string> _strategy = CliOptions.Choice("--strategy", "search strategy (generator needs generator.json in the run folder)",
        "evolution", "random", "evolution", "generator", "unas");
    private readonly Option<double?> _flops = CliOptions.DoubleOrNull("--flops", "FLOPs target in M (required unless --budget-ms)", min: 0, minExclusive: true);
    private readonly Option<bool> _hardLimit = CliOptions.Flag("--hard-limit", "generator: repair architectures over the target until they fit");
    private readonly SearchCliOptions _search = new();
    private readonly Option<bool> _resume = CliOptions.Resume("continue an interrupted search: candidates it scored (run/search/journal) are read back, not scored again");
    private readonly UnasCliOptions _unas = new();
    private readonly LatencyBudgetOptions _latency = new();

    public override string Name => "search";
    public override string Summary => "Search an architecture under a FLOPs target or a latency budget (random search, evolution, the trained generator or UNAS).";

    protected override int Run(ParseResult parse)
    {
        string run = parse.GetValue(_run)!;
        bool resume = parse.GetValue(_resume);
        string strategy = parse.GetValue(_strategy)!;
        double flops = parse.GetValue(_flops) ?? double.NaN;
        var latency = _latency.Read(parse);
        if (latency is not null && !double.IsNaN(flops)) throw new UsageException("give either --flops or --budget-ms, not both.");
        if (double.IsNaN(flops) && latency is null) throw new UsageException("--flops is required (FLOPs target in M), or a latency budget: --budget-ms MS --latency-table FILE.");
        bool hardLimit = parse.GetValue(_hardLimit);
        var o = _search.Read(parse);
        var unas = _unas.Read(parse, o.Random.Seed);
        using var output = OpenOutput(parse);

        var runFolder = new RunFolder(run);
        runFolder.RequireSupernet();
        using var longRun = LongRun.Start(Name, runFolder.Root);
        RunPreflight.Check(runFolder.SearchDir);
        var device = DeviceSelector.Resolve(o.Device);
        using var session = SearchSession.Open(run, device, o.Session);
        output.Log($"supernet {session.Supernet.Preset.Name} from {session.Run.Root}; {o.Session.Evaluation.RecalibrationImages} recalibration / {session.Evaluator.Data.ValidationCount} validation images");
        // A latency budget is judged by the table's prediction (docs/latency.md); null keeps FLOPs (Eq. 9).
        var cost = latency is { } lat ? session.ConstraintCost(ConstraintKind.Latency, lat.TablePath) : null;
        double target = latency?.BudgetMs ?? flops;
        string unit = cost is null ? "M" : "ms";
        var journals = SearchJournals.Open(Path.Combine(session.Run.SearchDir, "journal"), session.Supernet.Preset,
            SearchCliOptions.Key(o, hardLimit, cost), resume, refuseExisting: false, unit);
        longRun.Kept = $"every scored candidate is journaled in {journals.Folder}; continue with the same command and --resume.";
        var chosen = journals.Wrap(session.CreateStrategy(strategy, cost, o.Random, o.Evolution, hardLimit, unas));
        var result = chosen.Search(target, longRun.Token, output.Progress());
        if (journals.Recorded > 0) output.Log($"resumed: {journals.Recorded} scored candidates read back from {journals.Folder}");
        var json = SearchCliOptions.ToJson(result);
        AtomicFile.WriteAllText(Path.Combine(session.Run.SearchDir, $"{result.Strategy}_{target.ToString("0.####", CultureInfo.InvariantCulture)}{unit}.json"),
            System.Text.Json.JsonSerializer.Serialize(json, Output.JsonOptions));
        output.Result(json, () =>
            $"{result.Strategy} under {target:0.####} {unit}: {result.Architecture}\n" +
            (cost is null ? "" : $"predicted {result.Cost:F4} ms  ") +
            $"FLOPs {result.FlopsM:F3} M  val top-1 {100 * result.ValTop1:F2} %  {result.Evaluated} evaluated in {result.Seconds:F1} s");
        return 0;
    }
}

/// <summary>The parsed budget and protocol options of <c>search</c> and <c>compare</c>.</summary>
internal sealed record SearchSettings(string Device, SearchSessionOptions Session, RandomSearchOptions Random, EvolutionSearchOptions Evolution);

/// <summary>Budget and protocol options shared by <c>search</c> and <c>compare</c>.</summary>
public sealed class SearchCliOptions : OptionGroup
{
    private static readonly RandomSearchOptions RandomDefaults = new();
    private static readonly EvolutionSearchOptions EvolutionDefaults = new();

    private readonly Option<int> _evaluations = CliOptions.Int("--evaluations", "random: architectures to score", RandomDefaults.Evaluations, min: 1);
    private readonly Option<int> _population = CliOptions.Int("--population", "evolution: population", EvolutionDefaults.Population, min: 2);
    private readonly Option<int> _iterations = CliOptions.Int("--iterations", "evolution: generations", EvolutionDefaults.Iterations, min: 1);
    private readonly Option<int> _topK = CliOptions.Int("--top-k", "evolution: parents kept", EvolutionDefaults.TopK, min: 1);
    private readonly Option<int> _recalibrationImages = CliOptions.Int("--recalibration-images", "BN recalibration images per candidate",
        CandidateEvaluatorOptions.DefaultRecalibrationImages, min: 1);
    private readonly Option<int> _valImages = CliOptions.Int("--val-images", "validation images per candidate, 0 = all", CandidateEvaluatorOptions.DefaultValidationImages, min: 0);
    private readonly Option<string?> _data = CliOptions.Data("data instead of the supernet's (default: as trained)");
    private readonly Option<int> _seed = CliOptions.Seed(0, "seed of the tuner and of the evaluation subsets");
    private readonly Option<string> _device = CliOptions.Device();

    internal SearchSettings Read(ParseResult parse)
    {
        int seed = parse.GetValue(_seed);
        var eval = new CandidateEvaluatorOptions
        {
            RecalibrationImages = parse.GetValue(_recalibrationImages),
            ValidationImages = parse.GetValue(_valImages),
            Seed = seed,
        };
        var random = new RandomSearchOptions { Evaluations = parse.GetValue(_evaluations), Seed = seed };
        var evolution = new EvolutionSearchOptions
        {
            Population = parse.GetValue(_population),
            Iterations = parse.GetValue(_iterations),
            TopK = parse.GetValue(_topK),
            Seed = seed,
        };
        if (evolution.TopK > evolution.Population)
            throw new UsageException($"--top-k ({evolution.TopK}) cannot exceed --population ({evolution.Population}).");
        return new SearchSettings(parse.GetValue(_device)!,
            new SearchSessionOptions { Evaluation = eval, DatasetPath = parse.GetValue(_data) }, random, evolution);
    }

    /// <summary>The options that decide a search's outcome, as one string: stored beside the journals.</summary>
    internal static string Key(SearchSettings o, bool hardLimit, ConstraintCost? cost = null) => cost is null
        ? System.Text.Json.JsonSerializer.Serialize(new { o.Session.Evaluation, o.Session.DatasetPath, o.Random, o.Evolution, hardLimit })
        : System.Text.Json.JsonSerializer.Serialize(new { o.Session.Evaluation, o.Session.DatasetPath, o.Random, o.Evolution, hardLimit, constraint = cost.Identity });

    internal static object ToJson(SearchResult r) => r.Kind == ConstraintKind.Latency ? new
    {
        strategy = r.Strategy,
        constraint = "latency",
        budgetMs = r.TargetFlopsM,
        predictedMs = r.Cost,
        withinBudget = r.WithinTarget,
        flopsM = r.FlopsM,
        architecture = r.Architecture.ToString(),
        valTop1 = r.ValTop1,
        valLoss = r.ValLoss,
        seconds = r.Seconds,
        evaluated = r.Evaluated,
    } : new
    {
        strategy = r.Strategy,
        targetFlopsM = r.TargetFlopsM,
        flopsM = r.FlopsM,
        withinTarget = r.WithinTarget,
        architecture = r.Architecture.ToString(),
        valTop1 = r.ValTop1,
        valLoss = r.ValLoss,
        seconds = r.Seconds,
        evaluated = r.Evaluated,
    };
}
