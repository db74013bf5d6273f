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
/// (exact for discrete architectures) is at most the target. The FLOPs case of <see cref="BudgetConstraint"/>.
/// </summary>
public sealed class FlopsConstraint : BudgetConstraint
{
    /// <summary>Creates the constraint "FLOPs ≤ <paramref name="targetFlopsM"/> M".</summary>
    public FlopsConstraint(FlopsLookupTable table, double targetFlopsM)
        : base(ConstraintCost.Flops(table ?? throw new ArgumentNullException(nameof(table))), targetFlopsM)
    {
    }
}
