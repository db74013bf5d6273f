using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Cost;

/// <summary>
/// The cost model a budget of one <see cref="ConstraintKind"/> is judged with: exact for discrete architectures,
/// differentiable on relaxed weights (for the generator's constraint loss and UNAS's control variate). Chosen by
/// <see cref="Create"/> from the kind: FLOPs by <see cref="FlopsLookupTable"/> (SGNAS Eq. 9), latency by
/// <see cref="LatencyCostModel"/> (its latency twin).
/// </summary>
public abstract class ConstraintCost
{
    /// <summary>The kind of budget.</summary>
    public abstract ConstraintKind Kind { get; }
    /// <summary>The unit of costs and budgets ("M" or "ms").</summary>
    public string Unit => ConstraintKinds.Unit(Kind);
    /// <summary>The search space.</summary>
    public abstract SearchSpacePreset Preset { get; }
    /// <summary>The cost of a discrete architecture.</summary>
    public abstract double Of(Architecture arch);
    /// <summary>The cost of relaxed weights [B, layers, e_max, options] → [B], differentiable.</summary>
    public abstract Tensor Of(Tensor m);
    /// <summary>Cost of the smallest and largest architectures of the space.</summary>
    public (double Min, double Max) Range() => (Of(Architecture.Smallest(Preset)), Of(Architecture.Largest(Preset)));

    /// <summary>
    /// The cost model of <paramref name="kind"/> for <paramref name="preset"/>; latency needs the table measured for
    /// this preset.
    /// </summary>
    /// <exception cref="ArgumentException">Latency without a table, or a table for another preset.</exception>
    public static ConstraintCost Create(ConstraintKind kind, SearchSpacePreset preset, LatencyTable? latencyTable = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        return kind switch
        {
            ConstraintKind.Flops => new FlopsCost(new FlopsLookupTable(preset)),
            ConstraintKind.Latency => new LatencyCost(new LatencyCostModel(preset, latencyTable ?? throw new ArgumentException(
                $"Latency budgets need a latency table measured for preset '{preset.Name}' on this machine; measure one with 'sgnas latency-table --preset {preset.Name} --out latency.json'."))),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown constraint kind."),
        };
    }

    private sealed class FlopsCost(FlopsLookupTable table) : ConstraintCost
    {
        public override ConstraintKind Kind => ConstraintKind.Flops;
        public override SearchSpacePreset Preset => table.Preset;
        public override double Of(Architecture arch) => table.CostM(arch);
        public override Tensor Of(Tensor m) => table.CostM(m);
    }

    private sealed class LatencyCost(LatencyCostModel model) : ConstraintCost
    {
        public override ConstraintKind Kind => ConstraintKind.Latency;
        public override SearchSpacePreset Preset => model.Preset;
        public override double Of(Architecture arch) => model.PredictMs(arch);
        public override Tensor Of(Tensor m) => model.ExpectedMs(m);
    }
}
