using System.CommandLine;
using Sgnas.Search;

namespace Sgnas.Cli.Commands;

/// <summary>The <c>--unas-*</c> options of <c>search --strategy unas</c> and <c>compare --unas</c> (docs/unas.md).</summary>
public sealed class UnasCliOptions : OptionGroup
{
    private static readonly UnasOptions Defaults = new();

    private readonly Option<int> _steps = CliOptions.Int("--unas-steps", "UNAS: gradient steps per budget", Defaults.Steps, min: 1);
    private readonly Option<int> _samples = CliOptions.Int("--unas-samples", "UNAS: architectures sampled per step", Defaults.SamplesPerStep, min: 1);
    private readonly Option<double> _lr = CliOptions.Double("--unas-lr", "UNAS: Adam learning rate on the logits", Defaults.LearningRate, min: 0, minExclusive: true);
    private readonly Option<double> _temperature = CliOptions.Double("--unas-temperature", "UNAS: Gumbel-softmax temperature of the control variate",
        Defaults.Temperature, min: 0, minExclusive: true);
    private readonly Option<string> _objective = CliOptions.Choice("--unas-objective", "UNAS: validation loss (Eq. 6) or generalisation loss (Eq. 8)",
        "val", "val", "gen", "validation", "generalization", "generalisation");
    private readonly Option<double> _gapWeight = CliOptions.Double("--unas-gap-weight", "UNAS: lambda of Eq. 8", Defaults.GapWeight, min: 0);
    private readonly Option<double> _costWeight = CliOptions.Double("--unas-cost-weight", "UNAS: weight of the budget term", Defaults.CostWeight, min: 0);
    private readonly Option<int> _images = CliOptions.Int("--unas-images", "UNAS: images per sampled architecture", Defaults.ImagesPerSample, min: 1);
    private readonly Option<bool> _reinforce = CliOptions.Flag("--unas-reinforce", "UNAS: plain REINFORCE, no control variate (ablation)");

    /// <summary>The UNAS options of a parse, seeded with <paramref name="seed"/>.</summary>
    public UnasOptions Read(ParseResult parse, int seed)
    {
        var o = new UnasOptions
        {
            Steps = parse.GetValue(_steps),
            SamplesPerStep = parse.GetValue(_samples),
            LearningRate = parse.GetValue(_lr),
            Temperature = parse.GetValue(_temperature),
            Objective = parse.GetValue(_objective) is "gen" or "generalization" or "generalisation" ? UnasObjective.Generalization : UnasObjective.Validation,
            GapWeight = parse.GetValue(_gapWeight),
            CostWeight = parse.GetValue(_costWeight),
            ImagesPerSample = parse.GetValue(_images),
            ControlVariate = !parse.GetValue(_reinforce),
            Seed = seed,
        };
        try { o.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException("UNAS: " + e.Message.Split('\n')[0]); }
        return o;
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
}

/// <summary><c>--budget-ms</c> and <c>--latency-table</c>: a latency budget instead of a FLOPs target (docs/latency.md).</summary>
public sealed class LatencyBudgetOptions : OptionGroup
{
    private readonly Option<double?> _budgetMs = CliOptions.DoubleOrNull("--budget-ms", "a latency budget in ms instead of --flops (needs --latency-table)", min: 0, minExclusive: true);
    private readonly Option<string?> _table = CliOptions.Text("--latency-table", "table from 'sgnas latency-table' for this preset and machine", "FILE");

    /// <summary>The budget and table; null when no latency budget was asked for.</summary>
    public (double BudgetMs, string TablePath)? Read(ParseResult parse)
    {
        double? ms = parse.GetValue(_budgetMs);
        string? table = parse.GetValue(_table);
        if (ms is null)
        {
            if (table is not null) throw new UsageException("--latency-table only makes sense with --budget-ms.");
            return null;
        }
        if (table is null) throw new UsageException("--budget-ms needs --latency-table FILE (measure one with 'sgnas latency-table --preset P --out FILE').");
        return (ms.Value, table);
    }
}
