namespace Sgnas.Cost;

/// <summary>
/// What a budget limits (docs/latency.md): FLOPs (SGNAS's hardware constraint, Eq. 9, in M) or batch-1 latency
/// measured on the user's machine (in ms, from a <see cref="LatencyTable"/>).
/// </summary>
public enum ConstraintKind
{
    /// <summary>Multiply-accumulates in M (SGNAS Eq. 9).</summary>
    Flops,
    /// <summary>Batch-1 latency in ms (the latency twin of Eq. 9, <see cref="LatencyCostModel"/>).</summary>
    Latency,
}

/// <summary>Names and units of <see cref="ConstraintKind"/> values, as written in files and on the command line.</summary>
public static class ConstraintKinds
{
    /// <summary>"flops" or "latency".</summary>
    public static string Name(ConstraintKind kind) => kind switch
    {
        ConstraintKind.Flops => "flops",
        ConstraintKind.Latency => "latency",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown constraint kind."),
    };

    /// <summary>"M" (FLOPs) or "ms" (latency).</summary>
    public static string Unit(ConstraintKind kind) => kind switch
    {
        ConstraintKind.Flops => "M",
        ConstraintKind.Latency => "ms",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown constraint kind."),
    };

    /// <summary>Parses "flops" or "latency" (case-insensitive).</summary>
    /// <exception cref="FormatException">Anything else.</exception>
    public static ConstraintKind Parse(string text) => text?.Trim().ToLowerInvariant() switch
    {
        "flops" => ConstraintKind.Flops,
        "latency" => ConstraintKind.Latency,
        _ => throw new FormatException($"Unknown constraint kind '{text}'; use flops or latency."),
    };
}
