namespace Sgnas.Generator;

/// <summary>
/// Rank and linear correlation between target and generated FLOPs (the generator's quality measure, paper Fig. 7a
/// and section 5.3: Kendall τ = 1.0 and Pearson 0.99 with the random prior).
/// </summary>
public static class Correlation
{
    /// <summary>
    /// Kendall's τ-b (the variant <c>scipy.stats.kendalltau</c>, used by the reference code, computes):
    /// (C − D) / √((n₀ − n₁)(n₀ − n₂)) with n₀ = n(n−1)/2 pairs, n₁ / n₂ the pairs tied in x / y.
    /// NaN when either side is constant (undefined).
    /// </summary>
    public static double KendallTau(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        long concordant = 0, discordant = 0, tiesX = 0, tiesY = 0, pairs = 0;
        for (int i = 0; i < x.Count; i++)
            for (int j = i + 1; j < x.Count; j++)
            {
                pairs++;
                int sx = Math.Sign(x[i] - x[j]), sy = Math.Sign(y[i] - y[j]);
                if (sx == 0) tiesX++;
                if (sy == 0) tiesY++;
                if (sx == 0 || sy == 0) continue;
                if (sx == sy) concordant++; else discordant++;
            }
        double denom = Math.Sqrt((double)(pairs - tiesX) * (pairs - tiesY));
        return denom == 0 ? double.NaN : (concordant - discordant) / denom;
    }

    /// <summary>Pearson's r; NaN when either side is constant.</summary>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        Check(x, y);
        double mx = x.Average(), my = y.Average(), sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy; sxx += dx * dx; syy += dy * dy;
        }
        return sxx == 0 || syy == 0 ? double.NaN : sxy / Math.Sqrt(sxx * syy);
    }

    /// <summary>Mean over i of |actual_i − target_i| / |target_i|.</summary>
    public static double MeanAbsoluteRelativeError(IReadOnlyList<double> targets, IReadOnlyList<double> actual)
    {
        Check(targets, actual);
        double s = 0;
        for (int i = 0; i < targets.Count; i++)
        {
            if (targets[i] == 0) throw new ArgumentException($"target {i} is 0; the relative error is undefined.", nameof(targets));
            s += Math.Abs(actual[i] - targets[i]) / Math.Abs(targets[i]);
        }
        return s / targets.Count;
    }

    private static void Check(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count) throw new ArgumentException($"the series have different lengths ({x.Count} and {y.Count}).");
        if (x.Count < 2) throw new ArgumentException($"need at least two points; got {x.Count}.");
    }
}
