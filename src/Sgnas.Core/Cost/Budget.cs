using System.Globalization;

namespace Sgnas.Cost;

/// <summary>
/// One budget: a value and the <see cref="ConstraintKind"/> it limits (FLOPs in M or latency in ms; docs/latency.md).
/// The text form is a number with an optional unit: <c>3</c>, <c>3M</c> or <c>3 MFLOPs</c> are FLOPs,
/// <c>0.15ms</c> is a latency. The command line and the ML.NET options go through <see cref="Parse(string, ConstraintKind)"/>
/// and <see cref="ParseList"/>, so a flag such as <c>--budget-ms 0.1,0.2</c> is one call.
/// </summary>
/// <param name="Kind">What the budget limits.</param>
/// <param name="Value">The limit in <see cref="Unit"/>.</param>
public readonly record struct Budget(ConstraintKind Kind, double Value)
{
    /// <summary>A FLOPs budget in M.</summary>
    public static Budget Flops(double megaFlops) => Checked(new Budget(ConstraintKind.Flops, megaFlops));

    /// <summary>A latency budget in ms.</summary>
    public static Budget Milliseconds(double ms) => Checked(new Budget(ConstraintKind.Latency, ms));

    /// <summary>"M" or "ms".</summary>
    public string Unit => ConstraintKinds.Unit(Kind);

    /// <summary>"3 M" or "0.15 ms" (invariant culture, up to 4 decimals).</summary>
    public override string ToString() => $"{Value.ToString("0.####", CultureInfo.InvariantCulture)} {Unit}";

    /// <summary>
    /// Parses one budget. A unit suffix decides the kind (<c>ms</c>; <c>M</c>, <c>MFLOPs</c> or <c>MMACs</c>,
    /// case-insensitive); without one the value is of <paramref name="defaultKind"/>.
    /// </summary>
    /// <exception cref="FormatException">Not a number, an unknown unit, or a value that is not positive.</exception>
    public static Budget Parse(string text, ConstraintKind defaultKind = ConstraintKind.Flops)
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text.Trim();
        int end = s.Length;
        while (end > 0 && char.IsLetter(s[end - 1])) end--;
        string number = s[..end].Trim(), unit = s[end..].ToLowerInvariant();
        var kind = unit switch
        {
            "" => defaultKind,
            "ms" => ConstraintKind.Latency,
            "m" or "mflops" or "mmacs" => ConstraintKind.Flops,
            _ => throw new FormatException($"Budget '{text}': unknown unit '{s[end..]}'; use ms for latency or M for FLOPs."),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
            throw new FormatException($"Budget '{text}' is not a number (use a point as decimal separator, e.g. 0.15ms or 3M).");
        if (!(value > 0) || !double.IsFinite(value))
            throw new FormatException($"Budget '{text}' must be a positive number of {ConstraintKinds.Unit(kind)}.");
        return new Budget(kind, value);
    }

    /// <summary>
    /// Parses a comma-separated list (<c>2,3,4</c> or <c>0.1ms,0.2ms</c>); every budget must be of the same kind.
    /// </summary>
    /// <exception cref="FormatException">An entry does not parse, the list is empty, or kinds are mixed.</exception>
    public static IReadOnlyList<Budget> ParseList(string text, ConstraintKind defaultKind = ConstraintKind.Flops)
    {
        ArgumentNullException.ThrowIfNull(text);
        var list = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => Parse(t, defaultKind)).ToList();
        if (list.Count == 0) throw new FormatException("No budget given.");
        if (list.Select(b => b.Kind).Distinct().Count() > 1)
            throw new FormatException($"Budgets '{text}' mix FLOPs and milliseconds; give one kind per run.");
        return list;
    }

    /// <summary>
    /// The budget of a pair of optional settings such as <c>TargetFlopsM</c> / <c>TargetLatencyMs</c>: at most one
    /// may be set; null when neither is.
    /// </summary>
    /// <exception cref="ArgumentException">Both are set, or the one set is not positive.</exception>
    public static Budget? FromOptions(double? flopsM, double? latencyMs, string flopsName = "TargetFlopsM", string latencyName = "TargetLatencyMs")
    {
        if (flopsM is not null && latencyMs is not null)
            throw new ArgumentException($"Set either {flopsName} or {latencyName}, not both.");
        if (flopsM is { } f) return f > 0 && double.IsFinite(f) ? Flops(f) : throw new ArgumentException($"{flopsName} must be a positive number of M; it is {f}.");
        if (latencyMs is { } l) return l > 0 && double.IsFinite(l) ? Milliseconds(l) : throw new ArgumentException($"{latencyName} must be a positive number of ms; it is {l}.");
        return null;
    }

    private static Budget Checked(Budget b) => b.Value > 0 && double.IsFinite(b.Value)
        ? b : throw new ArgumentOutOfRangeException(nameof(Value), b.Value, $"A budget must be a positive number of {b.Unit}.");
}
