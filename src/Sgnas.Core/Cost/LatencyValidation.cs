using Sgnas.Generation;
using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>Accuracy of latency predictions against measurements.</summary>
/// <param name="Count">Networks compared.</param>
/// <param name="Pearson">Pearson r between predicted and measured.</param>
/// <param name="MeanRelativeError">Mean of |predicted − measured| / measured.</param>
/// <param name="WorstRelativeError">Largest |predicted − measured| / measured.</param>
/// <param name="WithinTenPercent">Fraction of networks with a relative error of at most 10 %.</param>
public sealed record LatencyAccuracy(int Count, double Pearson, double MeanRelativeError, double WorstRelativeError, double WithinTenPercent)
{
    /// <summary>Computes the metrics.</summary>
    public static LatencyAccuracy Of(IReadOnlyList<double> predicted, IReadOnlyList<double> measured)
    {
        var rel = predicted.Zip(measured, (p, m) => Math.Abs(p - m) / m).ToArray();
        return new LatencyAccuracy(rel.Length, predicted.Count > 1 ? Correlation.Pearson(predicted, measured) : double.NaN,
            rel.Average(), rel.Max(), rel.Count(r => r <= 0.10) / (double)rel.Length);
    }
}

/// <summary>One validated network.</summary>
/// <param name="Architecture">Its text form.</param>
/// <param name="SumMs">The table's per-layer sum.</param>
/// <param name="MeasuredMs">Measured end to end (median).</param>
/// <param name="RelativeIqr">Spread of its samples (interquartile range / median).</param>
/// <param name="HeldOut">Whether it was held out of the correction's fit.</param>
public sealed record LatencyValidationPoint(string Architecture, double SumMs, double MeasuredMs, double RelativeIqr, bool HeldOut);

/// <summary>The result of <see cref="LatencyValidation.Run"/>.</summary>
/// <param name="Raw">The table's sum against measurements, all networks.</param>
/// <param name="CorrectedHeldOut">The correction fitted on the training networks, evaluated on the held-out ones
/// (null when there are too few networks to split).</param>
/// <param name="RawHeldOut">The raw sum on the same held-out networks, for comparison.</param>
/// <param name="CorrectionFromTraining">The correction fitted on the training networks only.</param>
/// <param name="CorrectionFromAll">The correction fitted on all networks (what a table should keep).</param>
/// <param name="Points">Every network.</param>
public sealed record LatencyValidationReport(LatencyAccuracy Raw, LatencyAccuracy? CorrectedHeldOut, LatencyAccuracy? RawHeldOut,
    LatencyCorrection? CorrectionFromTraining, LatencyCorrection? CorrectionFromAll, IReadOnlyList<LatencyValidationPoint> Points);

/// <summary>
/// Checks a latency table against whole networks (docs/latency.md): random architectures of the preset, each built
/// as the runtime would deploy it (ONNX Runtime: exported with the project's exporter), timed end to end together
/// (<see cref="InterleavedTimer"/>), and compared with the table's per-layer sum. A correction measured = a + b · sum
/// is fitted on a training subset and judged on the held-out rest, so its benefit is not measured on its own data.
/// </summary>
public static class LatencyValidation
{
    /// <summary>Runs the validation.</summary>
    /// <param name="preset">The search space.</param>
    /// <param name="table">The table to check (its own correction is ignored: the raw sum is what is judged).</param>
    /// <param name="runtime">The runtime to time the networks in; should be the table's.</param>
    /// <param name="count">Number of random architectures (distinct).</param>
    /// <param name="options">Warm-up, repetitions and seed.</param>
    /// <param name="heldOutFraction">Share of networks held out of the correction's fit.</param>
    /// <param name="log">Receives progress lines, or null.</param>
    /// <param name="cancellationToken">Checked between samples.</param>
    public static LatencyValidationReport Run(SearchSpacePreset preset, LatencyTable table, ILatencyRuntime runtime, int count,
        LatencyMeasurementOptions options, double heldOutFraction = 0.5, Action<string>? log = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(runtime);
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "Validation needs at least 2 architectures.");
        if (heldOutFraction is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(heldOutFraction), heldOutFraction, "The held-out fraction must be in [0, 1).");
        table.CheckMatches(preset);
        var archs = SampleDistinct(preset, count, options.Seed);
        var runners = new List<ILatencyRunner>(count);
        try
        {
            for (int i = 0; i < archs.Count; i++) runners.Add(runtime.PrepareNetwork(preset, archs[i], options.Seed + 1000 + i));
            log?.Invoke($"timing {count} networks end to end in {runtime.Name} {runtime.Version}, {runtime.Threads} thread(s)");
            var samples = InterleavedTimer.Measure(runners, options, null, cancellationToken);
            int heldOut = (int)Math.Round(count * heldOutFraction);
            var order = Enumerable.Range(0, count).ToArray();
            new Random(options.Seed + 7).Shuffle(order);
            var isHeldOut = new bool[count];
            for (int i = 0; i < heldOut; i++) isHeldOut[order[i]] = true;
            var points = archs.Select((a, i) => new LatencyValidationPoint(a.ToString(), table.SumMs(a), samples[i].MedianMs, samples[i].RelativeIqr, isHeldOut[i])).ToList();
            var raw = LatencyAccuracy.Of(points.Select(p => p.SumMs).ToList(), points.Select(p => p.MeasuredMs).ToList());
            var train = points.Where(p => !p.HeldOut).ToList();
            var test = points.Where(p => p.HeldOut).ToList();
            // A correction must predict a positive latency for the fastest architecture of the space.
            double minSum = new LatencyCostModel(preset, table, applyCorrection: false).Range().Min;
            LatencyCorrection? TryFit(IReadOnlyList<LatencyValidationPoint> fitted)
            {
                var c = Fit(fitted);
                if (c is null || c.PositiveFrom(minSum)) return c;
                log?.Invoke($"the correction fitted on {fitted.Count} networks ({c.Intercept:G3} ms + {c.Slope:G3} · sum) predicts {c.Apply(minSum):G3} ms " +
                            $"for the fastest architecture (sum {minSum:G3} ms): the timings are too noisy for a correction; none is kept (more --repetitions may help).");
                return null;
            }
            LatencyCorrection? fromTrain = null, fromAll = null;
            LatencyAccuracy? corrected = null, rawHeldOut = null;
            if (train.Count >= 2)
            {
                fromTrain = TryFit(train);
                if (fromTrain is not null && test.Count >= 1)
                {
                    corrected = LatencyAccuracy.Of(test.Select(p => fromTrain.Apply(p.SumMs)).ToList(), test.Select(p => p.MeasuredMs).ToList());
                    rawHeldOut = LatencyAccuracy.Of(test.Select(p => p.SumMs).ToList(), test.Select(p => p.MeasuredMs).ToList());
                }
            }
            fromAll = TryFit(points);
            return new LatencyValidationReport(raw, corrected, rawHeldOut, fromTrain, fromAll, points);
        }
        finally
        {
            foreach (var r in runners) r.Dispose();
        }
    }

    private static LatencyCorrection? Fit(IReadOnlyList<LatencyValidationPoint> points)
    {
        try { return LatencyCorrection.Fit(points.Select(p => p.SumMs).ToList(), points.Select(p => p.MeasuredMs).ToList()); }
        catch (ArgumentException) { return null; }
    }

    /// <summary>Distinct random architectures (canonical), seeded.</summary>
    public static IReadOnlyList<Architecture> SampleDistinct(SearchSpacePreset preset, int count, int seed)
    {
        var sampler = new ArchitectureSampler(preset, seed);
        var set = new HashSet<Architecture>();
        var list = new List<Architecture>(count);
        for (int tries = 0; list.Count < count && tries < count * 100; tries++)
        {
            var a = sampler.Sample();
            if (set.Add(a)) list.Add(a);
        }
        return list;
    }
}
