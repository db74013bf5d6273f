using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Search;

/// <summary>One architecture of the random sample behind Fig. 6a.</summary>
/// <param name="Architecture">The architecture.</param>
/// <param name="FlopsM">Its FLOPs in M.</param>
/// <param name="ValTop1">Validation top-1 with inherited weights after BN recalibration.</param>
public sealed record RandomPoint(Architecture Architecture, double FlopsM, double ValTop1);

/// <summary>Cost of one strategy over all constraints of a comparison.</summary>
/// <param name="Strategy">Strategy name.</param>
/// <param name="Constraints">Number of constraints searched.</param>
/// <param name="SearchSeconds">Sum of the per-constraint search times.</param>
/// <param name="SetupSeconds">Time paid once (generator training), counted once.</param>
public sealed record StrategyTotal(string Strategy, int Constraints, double SearchSeconds, double SetupSeconds)
{
    /// <summary>Total time for all constraints: setup once plus every search.</summary>
    public double TotalSeconds => SearchSeconds + SetupSeconds;
}

/// <summary>Everything a comparison measured (SGNAS Table 1, Fig. 6a, Fig. 7a).</summary>
/// <param name="Preset">Search-space preset name.</param>
/// <param name="Targets">FLOPs targets in M, in the order given.</param>
/// <param name="Results">One search result per (strategy, target), strategies in the order given.</param>
/// <param name="Totals">One total per strategy.</param>
/// <param name="RandomPoints">Randomly sampled architectures with their scores (Fig. 6a background).</param>
/// <param name="RecalibrationImages">Training images used per BN recalibration.</param>
/// <param name="ValidationImages">Validation images each candidate is scored on.</param>
public sealed record ComparisonResult(string Preset, IReadOnlyList<double> Targets, IReadOnlyList<SearchResult> Results,
    IReadOnlyList<StrategyTotal> Totals, IReadOnlyList<RandomPoint> RandomPoints, int RecalibrationImages, int ValidationImages);

/// <summary>
/// Runs every strategy for every constraint on one supernet with one evaluation protocol, and scores a random
/// sample of the space for reference. The per-constraint time of re-running strategies adds up over N constraints;
/// an amortised strategy's setup time (generator training) is counted once.
/// </summary>
public sealed class ComparisonHarness
{
    private readonly CandidateEvaluator _evaluator;
    private readonly IReadOnlyList<ISearchStrategy> _strategies;

    /// <summary>Creates the harness.</summary>
    /// <param name="evaluator">The evaluator every strategy scores with (used here for the random sample).</param>
    /// <param name="strategies">Strategies to compare, each built on <paramref name="evaluator"/>.</param>
    public ComparisonHarness(CandidateEvaluator evaluator, IReadOnlyList<ISearchStrategy> strategies)
    {
        _evaluator = evaluator ?? throw new ArgumentNullException(nameof(evaluator));
        ArgumentNullException.ThrowIfNull(strategies);
        if (strategies.Count == 0) throw new ArgumentException("no strategies to compare.", nameof(strategies));
        var dup = strategies.GroupBy(s => s.Name).FirstOrDefault(g => g.Count() > 1);
        if (dup != null) throw new ArgumentException($"two strategies are named '{dup.Key}'.", nameof(strategies));
        _strategies = strategies;
    }

    /// <summary>Runs the comparison.</summary>
    /// <param name="targetsFlopsM">FLOPs targets in M.</param>
    /// <param name="randomPoints">Random architectures to score for Fig. 6a (0 for none).</param>
    /// <param name="seed">Seed of the random sample.</param>
    /// <param name="cancellationToken">Stops between candidates.</param>
    /// <param name="progress">Per-candidate progress of each search.</param>
    public ComparisonResult Run(IReadOnlyList<double> targetsFlopsM, int randomPoints = 300, int seed = 0,
        CancellationToken cancellationToken = default, IProgress<TrainingProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(targetsFlopsM);
        if (targetsFlopsM.Count == 0) throw new ArgumentException("no FLOPs targets given.", nameof(targetsFlopsM));
        if (randomPoints < 0) throw new ArgumentOutOfRangeException(nameof(randomPoints), randomPoints, "must be ≥ 0.");

        // One untimed evaluation first: the first forward passes of a process pay one-off costs (kernel selection,
        // allocator growth) that would otherwise be charged to whichever strategy runs first.
        _evaluator.Evaluate(Architecture.Largest(_evaluator.Preset), cancellationToken);
        _evaluator.ClearCache();

        var results = new List<SearchResult>();
        foreach (var s in _strategies)
            foreach (var t in targetsFlopsM)
                results.Add(s.Search(t, cancellationToken, progress));

        var totals = _strategies.Select(s =>
        {
            var mine = results.Where(r => r.Strategy == s.Name).ToList();
            return new StrategyTotal(s.Name, mine.Count, mine.Sum(r => r.Seconds), s.SetupSeconds);
        }).ToList();

        var points = new List<RandomPoint>(randomPoints);
        var sampler = new ArchitectureSampler(_evaluator.Preset, seed);
        if (Distributed.Cluster.World.Size > 1)
        {
            // Under MPI the sample is scored spread over the ranks (docs/distributed.md §5); same draws, same order.
            var drawn = Enumerable.Range(0, randomPoints).Select(_ => sampler.Sample()).ToArray();
            var scored = _evaluator.EvaluateMany(drawn, cancellationToken);
            points.AddRange(scored.Select(r => new RandomPoint(r.Architecture, r.FlopsM, r.ValTop1)));
            progress?.Report(new TrainingProgress("random-sample", 1, 1, randomPoints, randomPoints,
                new Dictionary<string, double> { ["points"] = randomPoints }, EpochDone: true));
        }
        else
        for (int i = 0; i < randomPoints; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var r = _evaluator.Evaluate(sampler.Sample(), cancellationToken);
            points.Add(new RandomPoint(r.Architecture, r.FlopsM, r.ValTop1));
            progress?.Report(new TrainingProgress("random-sample", 1, 1, i + 1, randomPoints,
                new Dictionary<string, double> { ["top1"] = r.ValTop1, ["flopsM"] = r.FlopsM }, EpochDone: i + 1 == randomPoints));
        }
        return new ComparisonResult(_evaluator.Preset.Name, targetsFlopsM.ToArray(), results, totals, points,
            _evaluator.Data.RecalibrationCount, _evaluator.Data.ValidationCount);
    }
}
