using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Search;

/// <summary>
/// The cost UNAS constrains, treated as a black box (UNAS Eq. 5: RELAX needs only its values and a surrogate):
/// FLOPs from Eq. 9, latency from a measured table, or any measured quantity.
/// </summary>
/// <param name="Name">Short name ("flops", "latency").</param>
/// <param name="Unit">Unit of the budget ("M", "ms").</param>
/// <param name="Evaluate">The cost of a discrete architecture.</param>
public sealed record UnasCost(string Name, string Unit, Func<Architecture, double> Evaluate)
{
    /// <summary>FLOPs in M by the lookup table of SGNAS Eq. 9 (exact for discrete architectures).</summary>
    public static UnasCost Flops(FlopsLookupTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        return new UnasCost("flops", "M", table.CostM);
    }

    /// <summary>The cost of any <see cref="ConstraintCost"/> (FLOPs, a latency table, or measured latency) as a black box.</summary>
    public static UnasCost From(ConstraintCost cost)
    {
        ArgumentNullException.ThrowIfNull(cost);
        return new UnasCost(ConstraintKinds.Name(cost.Kind), cost.Unit, cost.Of);
    }

    /// <summary>Latency in ms predicted by a measured latency table (docs/latency.md).</summary>
    public static UnasCost Latency(LatencyCostModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new UnasCost("latency", "ms", model.PredictMs);
    }
}
