using System.Globalization;
using Sgnas.IO;
using Sgnas.Runtime;
using Sgnas.Search;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas search</c>: one baseline search (random or evolution) for one FLOPs target on a trained supernet.</summary>
public sealed class SearchCommand : ICommand
{
    public string Name => "search";
    public string Summary => "Search an architecture under a FLOPs target (random search, evolution, or the trained generator).";
    public string Usage =>
        "  --run DIR                  run folder with supernet.pt/json (required)\n" +
        "  --strategy random|evolution|generator|unas   (default evolution; generator needs generator.json in DIR)\n" +
        "  --hard-limit               generator: repair architectures over the target until they fit\n" +
        "  --flops X                  FLOPs target in M (required)\n" +
        "  --evaluations N            random: architectures to score (default 1000)\n" +
        "  --population N             evolution: population (default 50)\n" +
        "  --iterations N             evolution: generations (default 20)\n" +
        "  --top-k N                  evolution: parents kept (default 10)\n" +
        "  --recalibration-images N   BN recalibration images per candidate (default 1024)\n" +
        "  --val-images N             validation images per candidate, 0 = all (default 2000)\n" +
        "  --dataset PATH             dataset instead of the supernet's (default as trained: Fashion-MNIST)\n" +
        "  --seed N                   seed of the tuner and of the evaluation subsets (default 0)\n" +
        "  --device D                 cpu, cuda, cuda:N (default cpu)\n" +
        "  --resume                   return the result an earlier identical search already wrote, instead of searching again\n" +
        UnasCliOptions.Usage +
        "  --json";

    public int Run(Args args)
    {
        string run = args.Required("run");
        bool resume = args.Flag("resume");
        string strategy = args.String("strategy", "evolution")!;
        double flops = args.Double("flops", double.NaN);
        var latency = UnasCliOptions.ParseLatencyBudget(args);
        if (latency is not null && !double.IsNaN(flops)) throw new UsageException("give either --flops or --budget-ms, not both.");
        if (latency is not null && !strategy.Equals("unas", StringComparison.OrdinalIgnoreCase))
            throw new UsageException("--budget-ms works with --strategy unas so far; random, evolution and the generator take --flops.");
        if (double.IsNaN(flops) && latency is null) throw new UsageException("--flops is required (FLOPs target in M).");
        bool hardLimit = args.Flag("hard-limit");
        var o = SearchOptionsParser.Parse(args);
        var unas = UnasCliOptions.Parse(args);
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        SearchSession.ValidateStrategyName(strategy);

        var runFolder = new RunFolder(run);
        runFolder.RequireSupernet();
        using var longRun = LongRun.Start(Name, runFolder.Root);
        RunPreflight.Check(runFolder.SearchDir);
        var device = DeviceSelector.Resolve(o.Device);
        using var session = SearchSession.Open(run, device, o.Session);
        output.Log($"supernet {session.Supernet.Preset.Name} from {session.Run.Root}; {o.Session.Evaluation.RecalibrationImages} recalibration / {session.Evaluator.Data.ValidationCount} validation images");
        if (latency is { } lat)
        {
            var cost = UnasCliOptions.LatencyCost(session, lat.TablePath);
            var r = UnasSearchStrategy.FromSession(session, unas, cost).Search(lat.BudgetMs, longRun.Token, output.Progress());
            var lj = UnasCliOptions.LatencyJson(r, cost);
            AtomicFile.WriteAllText(Path.Combine(session.Run.SearchDir, $"{r.Strategy}_{lat.BudgetMs.ToString("0.####", CultureInfo.InvariantCulture)}ms.json"),
                System.Text.Json.JsonSerializer.Serialize(lj, Output.JsonOptions));
            output.Result(lj, () => $"{r.Strategy} under {lat.BudgetMs:0.####} ms: {r.Architecture}\npredicted {cost.Evaluate(r.Architecture):F4} ms  FLOPs {r.FlopsM:F3} M  val top-1 {100 * r.ValTop1:F2} %  in {r.Seconds:F1} s");
            return 0;
        }
        // The finished search (with every trial) is stored before the summary file, so --resume can return it.
        var finished = new FinishedSearches(Path.Combine(session.Run.SearchDir, "finished"), session.Supernet.Preset, SearchOptionsParser.Key(o, hardLimit), resume);
        longRun.Kept = "no search had finished; a search restarts from its seed (it is deterministic), so nothing is lost but time.";
        var chosen = strategy.Equals("unas", StringComparison.OrdinalIgnoreCase)
            ? UnasSearchStrategy.FromSession(session, unas) : session.CreateStrategy(strategy, o.Random, o.Evolution, hardLimit);
        var result = finished.Search(chosen, flops, longRun.Token, output.Progress());
        if (finished.Reused > 0) output.Log($"reused the finished search {finished.PathOf(result.Strategy, flops)} (--resume)");
        var json = SearchOptionsParser.ToJson(result);
        AtomicFile.WriteAllText(Path.Combine(session.Run.SearchDir, $"{result.Strategy}_{flops.ToString("0.###", CultureInfo.InvariantCulture)}M.json"),
            System.Text.Json.JsonSerializer.Serialize(json, Output.JsonOptions));
        output.Result(json, () =>
            $"{result.Strategy} under {flops:0.###} M: {result.Architecture}\n" +
            $"FLOPs {result.FlopsM:F3} M  val top-1 {100 * result.ValTop1:F2} %  {result.Evaluated} evaluated in {result.Seconds:F1} s");
        return 0;
    }
}

/// <summary>Budget and protocol options shared by <c>search</c> and <c>compare</c>.</summary>
internal sealed record SearchCliOptions(string Device, SearchSessionOptions Session, RandomSearchOptions Random, EvolutionSearchOptions Evolution);

internal static class SearchOptionsParser
{
    public static SearchCliOptions Parse(Args args)
    {
        int seed = args.Int("seed", 0);
        var eval = new CandidateEvaluatorOptions
        {
            RecalibrationImages = args.Int("recalibration-images", CandidateEvaluatorOptions.DefaultRecalibrationImages, 1),
            ValidationImages = args.Int("val-images", CandidateEvaluatorOptions.DefaultValidationImages, 0),
            Seed = seed,
        };
        var random = new RandomSearchOptions { Evaluations = args.Int("evaluations", new RandomSearchOptions().Evaluations, 1), Seed = seed };
        var d = new EvolutionSearchOptions();
        var evolution = new EvolutionSearchOptions
        {
            Population = args.Int("population", d.Population, 2),
            Iterations = args.Int("iterations", d.Iterations, 1),
            TopK = args.Int("top-k", d.TopK, 1),
            Seed = seed,
        };
        if (evolution.TopK > evolution.Population)
            throw new UsageException($"--top-k ({evolution.TopK}) cannot exceed --population ({evolution.Population}).");
        return new SearchCliOptions(args.String("device", "cpu")!,
            new SearchSessionOptions { Evaluation = eval, DatasetPath = args.String("dataset") }, random, evolution);
    }

    /// <summary>The options that decide a search's outcome, as one string: stored with each finished search.</summary>
    public static string Key(SearchCliOptions o, bool hardLimit) =>
        System.Text.Json.JsonSerializer.Serialize(new { o.Session.Evaluation, o.Session.DatasetPath, o.Random, o.Evolution, hardLimit });

    public static object ToJson(SearchResult r) => new
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
