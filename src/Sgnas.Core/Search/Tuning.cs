using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Search;

/// <summary>
/// A search algorithm that only proposes architectures and reads their scores, never trains or evaluates
/// (the NNI / AutoML split of strategy and evaluator). Mirrors ML.NET AutoML's <c>ITuner</c>:
/// <see cref="Propose"/> ↔ <c>ITuner.Propose(TrialSettings)</c>, <see cref="Update"/> ↔ <c>ITuner.Update(TrialResult)</c>.
/// Calls alternate: each proposal is scored and passed to <see cref="Update"/> before the next
/// <see cref="Propose"/> (a generation-based tuner may refuse to run ahead of its updates).
/// </summary>
public interface IArchitectureTuner
{
    /// <summary>The next architecture to score (canonical, meeting the tuner's constraint).</summary>
    Architecture Propose();

    /// <summary>Reports the score (validation top-1, higher is better) of a proposed architecture.</summary>
    void Update(Architecture architecture, double score);
}

/// <summary>One scored proposal of a search (AutoML's <c>TrialSettings</c> and <c>TrialResult</c> in one record).</summary>
/// <param name="Id">1-based trial number within the search.</param>
/// <param name="Architecture">The proposed (canonical) architecture.</param>
/// <param name="FlopsM">Its FLOPs in M (Eq. 9).</param>
/// <param name="ValTop1">Validation top-1 after BN recalibration.</param>
/// <param name="ValLoss">Validation cross-entropy.</param>
/// <param name="Seconds">Time spent scoring it (0 when it came from the cache).</param>
public sealed record Trial(int Id, Architecture Architecture, double FlopsM, double ValTop1, double ValLoss, double Seconds);

/// <summary>No architecture meeting a FLOPs constraint was found within the allowed number of draws.</summary>
public sealed class InfeasibleConstraintException : InvalidOperationException
{
    /// <summary>Creates the exception with its message.</summary>
    public InfeasibleConstraintException(string message) : base(message) { }
}

/// <summary>
/// The hard constraint of SPOS Eq. 3 / SGNAS Table 1 in FLOPs: an architecture qualifies when its Eq. 9 cost
/// (exact for discrete architectures) is at most the target.
/// </summary>
public sealed class FlopsConstraint
{
    private readonly FlopsLookupTable _table;

    /// <summary>Creates the constraint "FLOPs ≤ <paramref name="targetFlopsM"/> M".</summary>
    public FlopsConstraint(FlopsLookupTable table, double targetFlopsM)
    {
        _table = table ?? throw new ArgumentNullException(nameof(table));
        if (!double.IsFinite(targetFlopsM) || targetFlopsM <= 0)
            throw new ArgumentOutOfRangeException(nameof(targetFlopsM), targetFlopsM, "the FLOPs target must be a positive number of M.");
        TargetFlopsM = targetFlopsM;
        Range = table.Range();
    }

    /// <summary>The target, in M.</summary>
    public double TargetFlopsM { get; }

    /// <summary>FLOPs of the smallest and largest architectures of the space, in M.</summary>
    public (double Min, double Max) Range { get; }

    /// <summary>FLOPs of <paramref name="arch"/> in M.</summary>
    public double FlopsM(Architecture arch) => _table.CostM(arch);

    /// <summary>True if <paramref name="arch"/> is within the target (1e-9 M slack for rounding).</summary>
    public bool IsSatisfiedBy(Architecture arch) => FlopsM(arch) <= TargetFlopsM + 1e-9;

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
        var p = _table.Preset;
        if (Range.Min > TargetFlopsM + 1e-9) return null;
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
        $"no architecture under {TargetFlopsM:0.###} M found after {tries} tries; feasible range is {Range.Min:0.###}..{Range.Max:0.###} M " +
        $"(search space '{_table.Preset.Name}').");
}
