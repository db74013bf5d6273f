using Sgnas.Search;

namespace Sgnas.Cli.Commands;

/// <summary>The <c>--unas-*</c> options of <c>search --strategy unas</c> and <c>compare --unas</c> (docs/unas.md).</summary>
internal static class UnasCliOptions
{
    /// <summary>Help lines for the UNAS options.</summary>
    public const string Usage =
        "  --unas-steps N             UNAS: gradient steps per budget (default 40)\n" +
        "  --unas-samples N           UNAS: architectures sampled per step (default 4)\n" +
        "  --unas-lr X                UNAS: Adam learning rate on the logits (default 0.1)\n" +
        "  --unas-temperature X       UNAS: Gumbel-softmax temperature of the control variate (default 0.5)\n" +
        "  --unas-objective val|gen   UNAS: validation loss (Eq. 6) or generalisation loss (Eq. 8) (default val)\n" +
        "  --unas-gap-weight X        UNAS: lambda of Eq. 8 (default 0.5)\n" +
        "  --unas-cost-weight X       UNAS: weight of the budget term (default 1)\n" +
        "  --unas-images N            UNAS: images per sampled architecture (default 64)\n" +
        "  --unas-reinforce           UNAS: plain REINFORCE, no control variate (ablation)\n" +
        "  --budget-ms X              UNAS: a latency budget in ms instead of --flops (needs --latency-table)\n" +
        "  --latency-table FILE       table from 'sgnas latency-table' for this preset and machine\n";

    /// <summary>Reads <c>--budget-ms</c> and <c>--latency-table</c>: null when no latency budget was asked for.</summary>
    public static (double BudgetMs, string TablePath)? ParseLatencyBudget(Args args)
    {
        double ms = args.Double("budget-ms", double.NaN);
        string? table = args.String("latency-table");
        if (double.IsNaN(ms))
        {
            if (table is not null) throw new UsageException("--latency-table only makes sense with --budget-ms.");
            return null;
        }
        if (!(ms > 0)) throw new UsageException($"--budget-ms must be positive; got {ms}.");
        if (table is null) throw new UsageException("--budget-ms needs --latency-table FILE (measure one with 'sgnas latency-table --preset P --out FILE').");
        return (ms, table);
    }

    /// <summary>The UNAS cost of a latency budget: the table's prediction for the session's preset.</summary>
    public static UnasCost LatencyCost(SearchSession session, string tablePath) =>
        UnasCost.Latency(new Sgnas.Cost.LatencyCostModel(session.Supernet.Preset, Sgnas.Cost.LatencyTable.Load(tablePath)));

    /// <summary>The JSON of a search under a latency budget.</summary>
    public static object LatencyJson(SearchResult r, UnasCost cost) => new
    {
        strategy = r.Strategy,
        constraint = "latency",
        budgetMs = r.TargetFlopsM,
        predictedMs = cost.Evaluate(r.Architecture),
        withinBudget = cost.Evaluate(r.Architecture) <= r.TargetFlopsM + 1e-12,
        flopsM = r.FlopsM,
        architecture = r.Architecture.ToString(),
        valTop1 = r.ValTop1,
        valLoss = r.ValLoss,
        seconds = r.Seconds,
        evaluated = r.Evaluated,
    };

    /// <summary>Reads the options (call before <see cref="Args.RejectUnknown"/>).</summary>
    public static UnasOptions Parse(Args args)
    {
        var d = new UnasOptions();
        string objective = args.String("unas-objective", "val")!;
        var o = new UnasOptions
        {
            Steps = args.Int("unas-steps", d.Steps, 1),
            SamplesPerStep = args.Int("unas-samples", d.SamplesPerStep, 1),
            LearningRate = args.Double("unas-lr", d.LearningRate),
            Temperature = args.Double("unas-temperature", d.Temperature),
            Objective = objective switch
            {
                "val" or "validation" => UnasObjective.Validation,
                "gen" or "generalization" or "generalisation" => UnasObjective.Generalization,
                _ => throw new UsageException($"--unas-objective must be val or gen; got '{objective}'."),
            },
            GapWeight = args.Double("unas-gap-weight", d.GapWeight),
            CostWeight = args.Double("unas-cost-weight", d.CostWeight),
            ImagesPerSample = args.Int("unas-images", d.ImagesPerSample, 1),
            ControlVariate = !args.Flag("unas-reinforce"),
            Seed = args.Int("seed", 0),
        };
        try { o.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException("UNAS: " + e.Message.Split('\n')[0]); }
        return o;
    }
}
