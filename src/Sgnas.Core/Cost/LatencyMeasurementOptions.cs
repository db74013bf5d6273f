namespace Sgnas.Cost;

/// <summary>How latencies are sampled (docs/latency.md).</summary>
public sealed record LatencyMeasurementOptions
{
    /// <summary>Intra-op threads of the runtime. Default 1: the most reproducible setting on a shared machine, and
    /// the one that answers "how fast on one core"; measure with the thread count the deployment will use.</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Untimed runs per network before timing starts (caches, lazy initialisation, allocator pools).</summary>
    public int Warmup { get; init; } = 20;
    /// <summary>Timed samples per network; the median is kept.</summary>
    public int Repetitions { get; init; } = 31;
    /// <summary>Each sample averages back-to-back runs until it lasts at least this long (ms), so that timer
    /// resolution and per-call jitter do not dominate microsecond-sized probes.</summary>
    public double MinSampleMs { get; init; } = 0.2;
    /// <summary>Which quantile of the samples is kept: 0.5 (default) is the median. On a machine that other jobs
    /// load, delays only ever add time, so a low quantile (e.g. 0.1) estimates the undisturbed latency better; the
    /// table records the choice.</summary>
    public double Quantile { get; init; } = 0.5;
    /// <summary>Seed of the interleaving order and of the random weights.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad setting.</summary>
    public void Validate()
    {
        if (Threads < 1) throw new ArgumentOutOfRangeException(nameof(Threads), Threads, "Threads must be at least 1.");
        if (Warmup < 0) throw new ArgumentOutOfRangeException(nameof(Warmup), Warmup, "Warm-up runs must not be negative.");
        if (Repetitions < 1) throw new ArgumentOutOfRangeException(nameof(Repetitions), Repetitions, "Repetitions must be at least 1.");
        if (!(Quantile is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(Quantile), Quantile, "The quantile must be in [0, 1].");
        if (!(MinSampleMs >= 0)) throw new ArgumentOutOfRangeException(nameof(MinSampleMs), MinSampleMs, "The minimum sample time must not be negative.");
    }
}
