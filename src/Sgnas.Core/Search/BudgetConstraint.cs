using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Search;

/// <summary>
/// The hard constraint of SPOS Eq. 3 / SGNAS Table 1 for any <see cref="ConstraintKind"/> (docs/latency.md): an
/// architecture qualifies when its cost is at most the target. The cost is a <see cref="ConstraintCost"/>: FLOPs
/// (Eq. 9, exact), latency predicted by a measured table, or latency measured end to end
/// (<see cref="MeasuredLatencyCost"/>), as the user chooses. Random search and evolution only call
/// <see cref="IsSatisfiedBy"/> and <see cref="ShrinkToFit"/>, so they search under any of them unchanged.
/// </summary>
public class BudgetConstraint
{
    private readonly ConstraintCost _cost;
    private (double Min, double Max)? _range;

    /// <summary>Creates the constraint "cost ≤ <paramref name="target"/>" in <paramref name="cost"/>'s unit.</summary>
    public BudgetConstraint(ConstraintCost cost, double target)
    {
        _cost = cost ?? throw new ArgumentNullException(nameof(cost));
        if (!double.IsFinite(target) || target <= 0)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"the {ConstraintKinds.Name(cost.Kind)} target must be a positive number of {cost.Unit}.");
        Target = target;
        // FLOPs and table costs are cheap: the range up front, as before. A measured cost times two networks for it,
        // so it is measured only when a message or ShrinkToFit needs it.
        if (cost.IsDifferentiable) _range = cost.Range();
    }

    /// <summary>The cost model the target is judged with.</summary>
    public ConstraintCost Cost => _cost;

    /// <summary>The kind of budget.</summary>
    public ConstraintKind Kind => _cost.Kind;

    /// <summary>The target in <see cref="ConstraintCost.Unit"/> (M or ms).</summary>
    public double Target { get; }

    /// <summary>The target, in M for FLOPs (the name of the FLOPs case; <see cref="Target"/> in general).</summary>
    public double TargetFlopsM => Target;

    /// <summary>Cost of the smallest and largest architectures of the space, in the constraint's unit.</summary>
    public (double Min, double Max) Range => _range ??= _cost.Range();

    /// <summary>The cost of <paramref name="arch"/> in the constraint's unit.</summary>
    public double CostOf(Architecture arch) => _cost.Of(arch);

    /// <summary>The cost of <paramref name="arch"/> (FLOPs in M for a FLOPs constraint; the name of the FLOPs case).</summary>
    public double FlopsM(Architecture arch) => _cost.Of(arch);

    /// <summary>True if <paramref name="arch"/> is within the target (1e-9 slack for rounding).</summary>
    public bool IsSatisfiedBy(Architecture arch) => CostOf(arch) <= Target + 1e-9;

    /// <summary>Pure rejection draws before <see cref="ShrinkToFit"/> helps (uniform sampling stays the rule).</summary>
    public const int RejectionTries = 1000;

    /// <summary>
    /// Shrinks an over-budget draw by random single-sub-block reductions (drop the last active sub-block of a layer
    /// above the minimum rate, or step one kernel down) until it meets the target. For targets near the smallest
    /// architecture, where uniform draws almost never land, this keeps the candidates random yet feasible.
    /// Returns null when even the smallest architecture exceeds the target.
    /// </summary>
    public Architecture? ShrinkToFit(Architecture arch, Random random)
    {
        var p = _cost.Preset;
        if (Range.Min > Target + 1e-9) return null;
        var kernels = p.Kernels.Order().ToArray();
        var layers = arch.Layers.Select(l => l.Kernels.ToList()).ToList();
        Architecture Current() => new Architecture(layers.Select(k => new LayerChoice(k))).Canonical();
        var current = Current();
        while (!IsSatisfiedBy(current))
        {
            // Reductions still possible: (layer, -1) drops a sub-block, (layer, j) steps kernel j down.
            var moves = new List<(int Layer, int Slot)>();
            for (int i = 0; i < layers.Count; i++)
            {
                if (layers[i].Count > p.MinExpansion) moves.Add((i, -1));
                for (int j = 0; j < layers[i].Count; j++) if (layers[i][j] != kernels[0]) moves.Add((i, j));
            }
            if (moves.Count == 0) return null;
            var (layer, slot) = moves[random.Next(moves.Count)];
            if (slot < 0) layers[layer].RemoveAt(random.Next(layers[layer].Count));
            else layers[layer][slot] = kernels[Array.IndexOf(kernels, layers[layer][slot]) - 1];
            current = Current();
        }
        return current;
    }

    /// <summary>The error raised after <paramref name="tries"/> draws found nothing under the target.</summary>
    public InfeasibleConstraintException NotFound(int tries) => new(
        $"no architecture under {Target:0.###} {_cost.Unit} found after {tries} tries; feasible range is {Range.Min:0.###}..{Range.Max:0.###} {_cost.Unit} " +
        $"(search space '{_cost.Preset.Name}').");
}
