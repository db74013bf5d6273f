using System.Globalization;
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
}

/// <summary>
/// <c>--budget-ms</c> and <c>--latency-table</c>: latency budgets instead of FLOPs targets (docs/latency.md). The
/// table is what the budgets are judged with (and what a generator is trained against); a command reading a trained
/// generator may leave it out, because the run folder keeps the generator's own table.
/// </summary>
public sealed class LatencyBudgetOptions : OptionGroup
{
    private readonly bool _tableRequired;
    private readonly Option<double[]?> _budgetMs = CliOptions.Numbers("--budget-ms", "latency budget(s) in ms instead of --flops (a table from 'sgnas latency-table')", helpName: "MS[,MS...]");
    private readonly Option<string?> _table = CliOptions.Text("--latency-table", "latency table from 'sgnas latency-table' for this preset and machine", "FILE");

    /// <summary>Creates the group; <paramref name="tableRequired"/> false lets a run folder's own table stand in.</summary>
    public LatencyBudgetOptions(bool tableRequired = true) => _tableRequired = tableRequired;

    /// <summary>Every budget and the table (null only when not required); null when no latency budget was asked for.</summary>
    public (double[] BudgetsMs, string? TablePath)? ReadAll(ParseResult parse)
    {
        double[]? ms = parse.GetValue(_budgetMs);
        string? table = parse.GetValue(_table);
        if (ms is null or { Length: 0 })
        {
            if (table is not null) throw new UsageException("--latency-table only makes sense with --budget-ms.");
            return null;
        }
        foreach (double m in ms)
            if (!(m > 0)) throw new UsageException($"--budget-ms must be positive milliseconds; got {m.ToString(CultureInfo.InvariantCulture)}.");
        if (table is null && _tableRequired)
            throw new UsageException("--budget-ms needs --latency-table FILE (measure one with 'sgnas latency-table --preset P --out FILE').");
        if (table is not null && !File.Exists(table)) throw new UsageException($"--latency-table: {table} does not exist.");
        return (ms, table);
    }

    /// <summary>The one budget and its table; null when no latency budget was asked for.</summary>
    public (double BudgetMs, string TablePath)? Read(ParseResult parse)
    {
        if (ReadAll(parse) is not { } all) return null;
        if (all.BudgetsMs.Length != 1)
            throw new UsageException($"--budget-ms takes one budget here; got {all.BudgetsMs.Length}. Use 'sgnas compare' or 'sgnas generate' for several.");
        return (all.BudgetsMs[0], all.TablePath!);
    }
}
