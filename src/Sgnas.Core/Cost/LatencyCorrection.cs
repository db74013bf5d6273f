namespace Sgnas.Cost;

/// <summary>
/// An affine correction of the per-layer sum, measured = <see cref="Intercept"/> + <see cref="Slope"/> · sum, fitted
/// by least squares on whole networks timed end to end (docs/latency.md: the sum of isolated measurements misses
/// what a whole graph shares, such as caches and fused or skipped copies).
/// </summary>
public sealed record LatencyCorrection
{
    /// <summary>Intercept a, ms.</summary>
    public required double Intercept { get; init; }
    /// <summary>Slope b (dimensionless, positive).</summary>
    public required double Slope { get; init; }
    /// <summary>Number of measured networks the fit used.</summary>
    public required int FittedOn { get; init; }

    /// <summary>a + b · <paramref name="sumMs"/>.</summary>
    public double Apply(double sumMs) => Intercept + Slope * sumMs;

    /// <summary>
    /// Whether the correction predicts a positive latency for every sum from <paramref name="minSumMs"/> up (the slope
    /// is positive, so the smallest sum decides). A noisy fit can cross zero above the fastest architecture's sum; its
    /// budgets would then reach negative milliseconds.
    /// </summary>
    public bool PositiveFrom(double minSumMs) => Apply(minSumMs) > 0;

    /// <summary>Least-squares fit of measured = a + b · sum.</summary>
    /// <exception cref="ArgumentException">Fewer than 2 points, different lengths, or constant sums.</exception>
    public static LatencyCorrection Fit(IReadOnlyList<double> sums, IReadOnlyList<double> measured)
    {
        ArgumentNullException.ThrowIfNull(sums);
        ArgumentNullException.ThrowIfNull(measured);
        if (sums.Count != measured.Count) throw new ArgumentException($"{sums.Count} sums but {measured.Count} measurements.");
        if (sums.Count < 2) throw new ArgumentException("A correction needs at least 2 measured networks.");
        double mx = sums.Average(), my = measured.Average(), sxy = 0, sxx = 0;
        for (int i = 0; i < sums.Count; i++) { sxy += (sums[i] - mx) * (measured[i] - my); sxx += (sums[i] - mx) * (sums[i] - mx); }
        if (sxx == 0) throw new ArgumentException("All networks have the same predicted sum; the correction's slope is undefined.");
        double b = sxy / sxx;
        if (!(b > 0)) throw new ArgumentException($"The fitted slope is {b:G3}: measured latency does not grow with the table's sum, so the table is unusable (too noisy?).");
        return new LatencyCorrection { Intercept = my - b * mx, Slope = b, FittedOn = sums.Count };
    }
}
