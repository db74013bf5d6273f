namespace Sgnas.Search;

/// <summary>The set of strategies a comparison runs on a <see cref="SearchSession"/>.</summary>
public static class SearchStrategies
{
    /// <summary>
    /// Random search and evolution, each with its options, on the session's shared evaluator, plus the generator
    /// when the run folder holds one.
    /// </summary>
    /// <param name="session">The opened run.</param>
    /// <param name="random">Random-search budget.</param>
    /// <param name="evolution">Evolution budget.</param>
    /// <param name="generatorHardLimit">Let the generator repair architectures over their target (off: raw generation, as Fig. 7a).</param>
    /// <param name="log">Receives one line per decision worth telling the user (e.g. why the generator is left out).</param>
    public static IReadOnlyList<ISearchStrategy> ForComparison(SearchSession session, RandomSearchOptions? random = null,
        EvolutionSearchOptions? evolution = null, bool generatorHardLimit = false, Action<string>? log = null) =>
        ForComparison(session, null, random, evolution, generatorHardLimit, log);

    /// <summary>
    /// As <see cref="ForComparison(SearchSession, RandomSearchOptions?, EvolutionSearchOptions?, bool, Action{string}?)"/>
    /// for budgets judged by <paramref name="cost"/> (null: FLOPs; a latency cost: targets in ms). The generator joins
    /// only when it was trained for the same kind (and latency table); otherwise the log says why it is left out.
    /// </summary>
    public static IReadOnlyList<ISearchStrategy> ForComparison(SearchSession session, Cost.ConstraintCost? cost, RandomSearchOptions? random = null,
        EvolutionSearchOptions? evolution = null, bool generatorHardLimit = false, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        var list = new List<ISearchStrategy> { session.RandomSearch(random, cost), session.EvolutionSearch(evolution, cost) };
        if (!session.HasGenerator)
        {
            log?.Invoke($"no generator in {session.Run.Root} (generator.json/generator.pt): comparing the baselines only.");
            return list;
        }
        var kind = cost?.Kind ?? Cost.ConstraintKind.Flops;
        // A measured cost has no table: a latency generator is compared on its own table's budgets in ms.
        try { list.Add(session.GeneratorSearch(generatorHardLimit, kind, cost?.LatencyTable)); }
        catch (Generation.ConstraintMismatchException e) { log?.Invoke($"generator left out: {e.Message}"); }
        return list;
    }
}
