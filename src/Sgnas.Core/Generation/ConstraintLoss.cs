using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Generation;

/// <summary>
/// The hardware-constraint loss L_C of SGNAS Eq. 8 (used in Eq. 10; docs/design.md §4) with the reference code's
/// asymmetry (<c>cal_hc_loss</c>): with error d = Cost − C,
/// <code>
/// L_C = 1.2 · d²   if d &gt;  margin   (over budget)
/// L_C = d²         if d &lt; −margin   (under budget)
/// L_C = 0          otherwise         (within ±margin, default 0.1 M in the reference)
/// </code>
/// The over-budget factor multiplies the <b>squared</b> loss, exactly as the reference does
/// (<c>(generate − target)² · alpha · loss_penalty</c>); it is equivalent to scaling the error by √1.2 before
/// squaring. The error itself is not reduced by the margin: just outside the margin the loss jumps from 0 to
/// margin², as in the reference. λ is not part of L_C; <see cref="GeneratorLoss"/> applies it.
/// <para>
/// The equation is the same for every constraint kind (docs/latency.md): cost, target and margin share one unit,
/// M FLOPs or ms of latency; the "M" in the parameter names is the FLOPs case. The trainer's default margin is a
/// fraction of the interval width (<see cref="GeneratorOptions.ResolveMarginM"/>), so it follows the unit.
/// </para>
/// </summary>
public static class ConstraintLoss
{
    /// <summary>Over-budget factor on the squared error (reference code <c>loss_penalty</c>).</summary>
    public const double ReferenceOverBudgetPenalty = 1.2;

    /// <summary>Dead zone half-width in M FLOPs (reference code: errors within ±0.1 M are ignored).</summary>
    public const double ReferenceMarginM = 0.1;

    /// <summary>L_C for one cost and target, in M².</summary>
    public static double Value(double costM, double targetM, double marginM = ReferenceMarginM, double overBudgetPenalty = ReferenceOverBudgetPenalty)
    {
        Check(marginM, overBudgetPenalty);
        double d = costM - targetM;
        if (d > marginM) return overBudgetPenalty * d * d;
        if (d < -marginM) return d * d;
        return 0;
    }

    /// <summary>
    /// L_C element-wise over costs <paramref name="costM"/> and targets <paramref name="targetM"/> (same shape or
    /// broadcastable), differentiable in the cost.
    /// </summary>
    public static Tensor Compute(Tensor costM, Tensor targetM, double marginM = ReferenceMarginM, double overBudgetPenalty = ReferenceOverBudgetPenalty)
    {
        Check(marginM, overBudgetPenalty);
        using var scope = NewDisposeScope();
        var d = costM - targetM.to(costM.device).to_type(costM.dtype);
        var sq = d * d;
        var weight = where(d.gt(marginM), full_like(d, overBudgetPenalty), where(d.lt(-marginM), ones_like(d), zeros_like(d)));
        return (sq * weight.detach()).MoveToOuterDisposeScope();
    }

    private static void Check(double marginM, double overBudgetPenalty)
    {
        if (!(marginM >= 0) || !double.IsFinite(marginM))
            throw new ArgumentOutOfRangeException(nameof(marginM), marginM, "constraint margin must be ≥ 0 M.");
        if (!(overBudgetPenalty > 0) || !double.IsFinite(overBudgetPenalty))
            throw new ArgumentOutOfRangeException(nameof(overBudgetPenalty), overBudgetPenalty, "over-budget penalty must be positive.");
    }
}

/// <summary>
/// The generator's objective, SGNAS Eq. 10: L_G = CE(supernet(X; α), y) + λ · L_C(Cost(α), C)
/// (docs/design.md §4; paper λ = 3e-4 with FLOPs in M, see <see cref="GeneratorOptions"/> for the scaled default).
/// </summary>
public static class GeneratorLoss
{
    /// <summary>λ of the paper (appendix A.3), FLOPs in M.</summary>
    public const double PaperCostWeight = 3e-4;

    /// <summary>
    /// L_G = <paramref name="crossEntropy"/> + λ · mean(L_C) (the mean over targets when several are given).
    /// Returns (total, L_C mean) as scalars.
    /// </summary>
    public static (Tensor Total, Tensor Constraint) Compute(Tensor crossEntropy, Tensor costM, Tensor targetM,
        double costWeight, double marginM, double overBudgetPenalty)
    {
        if (!(costWeight >= 0) || !double.IsFinite(costWeight))
            throw new ArgumentOutOfRangeException(nameof(costWeight), costWeight, "cost weight λ must be ≥ 0.");
        using var scope = NewDisposeScope();
        var lc = ConstraintLoss.Compute(costM, targetM, marginM, overBudgetPenalty).mean();
        var total = crossEntropy + costWeight * lc;
        return (total.MoveToOuterDisposeScope(), lc.MoveToOuterDisposeScope());
    }
}
