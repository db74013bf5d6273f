namespace Sgnas.Generation;

/// <summary>Which generator epoch <see cref="GeneratorTrainer"/> keeps.</summary>
public enum GeneratorSelectionRule
{
    /// <summary>
    /// The best average supernet top-1 of the architectures generated for <see cref="GeneratorOptions.AccuracyTargets"/>
    /// targets, among epochs whose constraint fit is within <see cref="GeneratorOptions.SelectionTolerance"/> (as the
    /// reference code keeps the best average top-1 among epochs under a loss gate); the best fit when no epoch is.
    /// </summary>
    Accuracy,

    /// <summary>The lowest summed constraint loss L_C over the evaluation targets (constraint fit alone).</summary>
    ConstraintFit,
}

/// <summary>
/// The epoch-selection rule of generator training (issue 9 part 2; docs/generator.md section 2), in one place so the
/// trainer, the saved model and the reports agree on which epoch was kept.
/// </summary>
public static class GeneratorSelection
{
    /// <summary>True if the epoch's mean relative FLOPs error over the evaluation targets is at most <paramref name="tolerance"/>.</summary>
    public static bool WithinTolerance(GeneratorEpochMetrics m, double tolerance) =>
        double.IsFinite(m.MeanAbsRelError) && m.MeanAbsRelError <= tolerance + 1e-12;

    /// <summary>
    /// The selected epoch of <paramref name="history"/>, or null when it is empty. Accuracy rule: among epochs
    /// within tolerance with a finite <see cref="GeneratorEpochMetrics.MeanTop1"/>, the highest mean top-1 (ties:
    /// lower evaluation constraint loss, then the earlier epoch); if there is none, the constraint-fit rule. The
    /// constraint-fit rule: the lowest <see cref="GeneratorEpochMetrics.EvalConstraintLoss"/> (ties: earlier epoch).
    /// </summary>
    public static GeneratorEpochMetrics? Select(IReadOnlyList<GeneratorEpochMetrics> history, GeneratorSelectionRule rule, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(history);
        if (history.Count == 0) return null;
        if (rule == GeneratorSelectionRule.Accuracy)
        {
            GeneratorEpochMetrics? best = null;
            foreach (var h in history)
            {
                if (!WithinTolerance(h, tolerance) || !double.IsFinite(h.MeanTop1)) continue;
                if (best is null || h.MeanTop1 > best.MeanTop1 || (h.MeanTop1 == best.MeanTop1 && h.EvalConstraintLoss < best.EvalConstraintLoss))
                    best = h;
            }
            if (best is not null) return best;
        }
        GeneratorEpochMetrics? fit = null;
        foreach (var h in history)
            if (fit is null || h.EvalConstraintLoss < fit.EvalConstraintLoss) fit = h;
        return fit;
    }
}
