using System.Diagnostics;

namespace Sgnas.Cost;

/// <summary>The kept latency of one runner and the spread of its samples.</summary>
/// <param name="MedianMs">The kept quantile of the samples (<see cref="LatencyMeasurementOptions.Quantile"/>, the
/// median by default), ms per run.</param>
/// <param name="Q1Ms">First quartile, ms.</param>
/// <param name="Q3Ms">Third quartile, ms.</param>
/// <param name="RunsPerSample">Back-to-back runs averaged into one sample.</param>
public sealed record LatencySample(double MedianMs, double Q1Ms, double Q3Ms, int RunsPerSample)
{
    /// <summary>Interquartile range relative to the median: a noise indicator.</summary>
    public double RelativeIqr => MedianMs > 0 ? (Q3Ms - Q1Ms) / MedianMs : double.NaN;
    /// <summary>The sample median, ms per run (equals <see cref="MedianMs"/> unless another quantile was kept).</summary>
    public double Q2Ms { get; init; } = MedianMs;
}

/// <summary>
/// Times many runners robustly on a machine that may be busy (docs/latency.md): each runner is warmed up, its runs
/// per sample are calibrated so a sample lasts at least <see cref="LatencyMeasurementOptions.MinSampleMs"/>, then
/// samples are taken in rounds that visit every runner once in a fresh random order, so slow phases of the machine
/// spread over all runners instead of biasing the ones that happened to run then; the median (or the configured
/// quantile) per runner is kept. Each sample starts with one untimed run, so that the runner's weights are back in
/// cache after the other runners' turns, as they are inside a network that runs over and over.
/// </summary>
public static class InterleavedTimer
{
    /// <summary>Measures every runner; returns one sample summary per runner, in order.</summary>
    /// <param name="runners">The prepared runners.</param>
    /// <param name="options">Warm-up, repetitions, minimum sample time and the order seed.</param>
    /// <param name="progress">Receives (round, rounds) after each round, or null.</param>
    /// <param name="cancellationToken">Checked between samples.</param>
    public static IReadOnlyList<LatencySample> Measure(IReadOnlyList<ILatencyRunner> runners, LatencyMeasurementOptions options,
        IProgress<(int Round, int Rounds)>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runners);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int n = runners.Count;
        var perSample = new int[n];
        for (int i = 0; i < n; i++)
        {
            for (int w = 0; w < options.Warmup; w++) runners[i].Run();
            // Calibrate: the median of a few single runs decides how many runs make one sample.
            var probe = new double[5];
            for (int t = 0; t < probe.Length; t++) probe[t] = TimeOnce(runners[i], 1);
            double single = Median(probe);
            perSample[i] = single <= 0 ? 1000 : (int)Math.Clamp(Math.Ceiling(options.MinSampleMs / single), 1, 100_000);
            cancellationToken.ThrowIfCancellationRequested();
        }
        var samples = new double[n][];
        for (int i = 0; i < n; i++) samples[i] = new double[options.Repetitions];
        var rng = new Random(options.Seed);
        var order = Enumerable.Range(0, n).ToArray();
        for (int r = 0; r < options.Repetitions; r++)
        {
            rng.Shuffle(order);
            foreach (int i in order)
            {
                runners[i].Run(); // back in cache after the other runners' turns
                samples[i][r] = TimeOnce(runners[i], perSample[i]);
                cancellationToken.ThrowIfCancellationRequested();
            }
            progress?.Report((r + 1, options.Repetitions));
        }
        var result = new LatencySample[n];
        for (int i = 0; i < n; i++)
        {
            var s = samples[i].OrderBy(v => v).ToArray();
            result[i] = new LatencySample(Quantile(s, options.Quantile), Quantile(s, 0.25), Quantile(s, 0.75), perSample[i]) { Q2Ms = Quantile(s, 0.5) };
        }
        return result;
    }

    private static double TimeOnce(ILatencyRunner runner, int runs)
    {
        long start = Stopwatch.GetTimestamp();
        for (int k = 0; k < runs; k++) runner.Run();
        return Stopwatch.GetElapsedTime(start).TotalMilliseconds / runs;
    }

    /// <summary>Median of unsorted values.</summary>
    public static double Median(IEnumerable<double> values) => Quantile(values.OrderBy(v => v).ToArray(), 0.5);

    /// <summary>Linear-interpolated quantile of sorted values.</summary>
    private static double Quantile(double[] sorted, double q)
    {
        if (sorted.Length == 0) return double.NaN;
        double pos = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(pos), hi = (int)Math.Ceiling(pos);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
    }
}
