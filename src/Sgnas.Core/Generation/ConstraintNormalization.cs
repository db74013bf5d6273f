namespace Sgnas.Generation;

/// <summary>
/// The generator's constraint input (docs/design.md §4; reference code <c>min_max_normalize</c>): a target C in
/// M FLOPs is mapped linearly to c = (C − C_low) / (C_high − C_low), so [C_low, C_high] becomes [0, 1]. Targets
/// outside the interval map outside [0, 1] (not clamped: the generator then extrapolates).
/// The default interval is <see cref="Cost.FlopsLookupTable.ConstraintInterval"/>; for a latency generator it is the
/// table's predicted range in ms (<see cref="Cost.ConstraintCost.ConstraintInterval"/>), and the same map applies
/// (the "M" in the parameter names is the FLOPs case).
/// </summary>
public static class ConstraintNormalization
{
    /// <summary>c = (C − low) / (high − low).</summary>
    /// <exception cref="ArgumentException">The interval is empty or not finite.</exception>
    public static double Normalize(double targetM, double lowM, double highM)
    {
        Check(lowM, highM);
        return (targetM - lowM) / (highM - lowM);
    }

    /// <summary>C = low + c · (high − low), the inverse of <see cref="Normalize(double, double, double)"/>.</summary>
    public static double Denormalize(double c, double lowM, double highM)
    {
        Check(lowM, highM);
        return lowM + c * (highM - lowM);
    }

    /// <summary><see cref="Normalize(double, double, double)"/> of every target, as float32 for the generator input.</summary>
    public static float[] NormalizeAll(IReadOnlyList<double> targetsM, double lowM, double highM) =>
        targetsM.Select(t => (float)Normalize(t, lowM, highM)).ToArray();

    private static void Check(double lowM, double highM)
    {
        if (!double.IsFinite(lowM) || !double.IsFinite(highM) || !(highM > lowM))
            throw new ArgumentException($"Constraint interval [{lowM}, {highM}] M must be finite with low < high.");
    }
}
