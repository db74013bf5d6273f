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
    /// <summary>
    /// The lowest and highest cost over the whole space: for FLOPs those of the smallest and largest architectures;
    /// a measured latency table need not be monotone, so its extremes come from <see cref="LatencyCostModel.Range"/>.
    /// </summary>
    public virtual (double Min, double Max) Range() => (Of(Architecture.Smallest(Preset)), Of(Architecture.Largest(Preset)));

    /// <summary>
    /// An architecture of the lowest cost (<see cref="Range"/>'s minimum): the smallest architecture, or for a latency
    /// table <see cref="LatencyCostModel.Cheapest"/>. The hard limit repairs down to it.
    /// </summary>
    public virtual Architecture Cheapest() => Architecture.Smallest(Preset);

    /// <summary>
    /// The generator's default constraint interval [C_low, C_high] in <see cref="Unit"/>: for FLOPs the preset's
    /// (<see cref="FlopsLookupTable.ConstraintInterval"/>), for latency the whole predicted range of the space.
    /// </summary>
    public virtual (double Low, double High) ConstraintInterval() => Range();

    /// <summary>
    /// True when <see cref="Of(Tensor)"/> is available (the table-based models); a measured cost has no relaxed form,
    /// so a generator cannot be trained against it.
    /// </summary>
    public virtual bool IsDifferentiable => true;

    /// <summary>The latency table behind a latency cost (null for FLOPs and measured costs).</summary>
    public virtual LatencyTable? LatencyTable => null;

    /// <summary>
    /// A one-line identity recorded with what is trained against the cost: "flops", or "latency:" and the table's
    /// SHA-256 (<see cref="Cost.LatencyTable.Sha256"/>).
    /// </summary>
    public virtual string Identity => ConstraintKinds.Name(Kind);

    /// <summary>The FLOPs lookup table behind a FLOPs cost (null otherwise).</summary>
    internal virtual FlopsLookupTable? FlopsTable => null;

    /// <summary>The FLOPs cost of SGNAS Eq. 9 over <paramref name="table"/>.</summary>
    public static ConstraintCost Flops(FlopsLookupTable table) => new FlopsCost(table ?? throw new ArgumentNullException(nameof(table)));

    /// <summary>The latency cost of the Eq. 9 twin <paramref name="model"/> (docs/latency.md).</summary>
    public static ConstraintCost Latency(LatencyCostModel model) => new LatencyCost(model ?? throw new ArgumentNullException(nameof(model)));

    /// <summary>The cost of <paramref name="budget"/>'s kind (see <see cref="Create"/>).</summary>
    public static ConstraintCost For(Budget budget, SearchSpacePreset preset, LatencyTable? latencyTable = null) =>
        Create(budget.Kind, preset, latencyTable);

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
        public override (double Low, double High) ConstraintInterval() => table.ConstraintInterval();
        internal override FlopsLookupTable? FlopsTable => table;
    }

    private sealed class LatencyCost(LatencyCostModel model) : ConstraintCost
    {
        public override ConstraintKind Kind => ConstraintKind.Latency;
        public override SearchSpacePreset Preset => model.Preset;
        public override double Of(Architecture arch) => model.PredictMs(arch);
        public override Tensor Of(Tensor m) => model.ExpectedMs(m);
        public override LatencyTable? LatencyTable => model.Table;
        public override (double Min, double Max) Range() => model.Range();
        public override Architecture Cheapest() => model.Cheapest();
        public override string Identity => $"latency:{model.Table.Sha256()}" + (model.ApplyCorrection ? "" : ":raw");
    }
}
