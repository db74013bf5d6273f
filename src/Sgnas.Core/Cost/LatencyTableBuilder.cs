using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>
/// Measures a <see cref="LatencyTable"/> for a preset on the current machine (docs/latency.md). Every probe of
/// <see cref="LatencyProbe.All"/> is prepared, all are timed together by <see cref="InterleavedTimer"/>, and the
/// medians are turned into table entries:
/// <list type="bullet">
/// <item>DW_i(k) = t(depthwise k) − t(overhead_i): the runtime's per-run cost is not part of an op inside a network;</item>
/// <item>PW_i(e) = t(layer e with the smallest kernel k₀) − t(overhead_i) − e · DW_i(k₀): what the block runs besides
/// its depthwise convs (1×1 convs, activations, split/concat, residual), measured inside the real block so that the
/// glue between ops is counted;</item>
/// <item>fixed = t(stem) + t(head) − t(overhead of the head input): the stem probe carries the one per-run cost of a
/// whole network.</item>
/// </list>
/// So the table sum for a layer at rate e equals its measured block time exactly when every kernel is k₀, and other
/// kernels add their measured depthwise differences.
/// </summary>
public static class LatencyTableBuilder
{
    /// <summary>Measures the table.</summary>
    /// <param name="preset">The search space.</param>
    /// <param name="runtime">The runtime to measure in.</param>
    /// <param name="options">Threads are the runtime's; warm-up, repetitions and seed are used here.</param>
    /// <param name="log">Receives progress lines, or null.</param>
    /// <param name="cancellationToken">Checked between samples.</param>
    /// <returns>The table and the raw per-probe samples (for reports).</returns>
    public static (LatencyTable Table, IReadOnlyList<(LatencyProbe Probe, LatencySample Sample)> Probes) Measure(
        SearchSpacePreset preset, ILatencyRuntime runtime, LatencyMeasurementOptions options, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(runtime);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var machine = LatencyMachine.Current();
        var probes = LatencyProbe.All(preset);
        var runners = new List<ILatencyRunner>(probes.Count);
        try
        {
            for (int i = 0; i < probes.Count; i++) runners.Add(runtime.Prepare(preset, probes[i], options.Seed + i));
            log?.Invoke($"timing {probes.Count} probes in {runtime.Name} {runtime.Version}, {runtime.Threads} thread(s), {options.Warmup} warm-up runs, {options.Repetitions} interleaved rounds");
            var progress = log is null ? null : new InlineProgress<(int Round, int Rounds)>(p =>
            {
                if (p.Round % 10 == 0 || p.Round == p.Rounds) log($"  round {p.Round}/{p.Rounds}");
            });
            var samples = InterleavedTimer.Measure(runners, options, progress, cancellationToken);
            var measured = probes.Zip(samples).ToList();
            return (Assemble(preset, measured, machine, runtime, options), measured);
        }
        finally
        {
            foreach (var r in runners) r.Dispose();
        }
    }

    /// <summary>Turns per-probe medians into a table (see the class remarks for the formulas).</summary>
    public static LatencyTable Assemble(SearchSpacePreset preset, IReadOnlyList<(LatencyProbe Probe, LatencySample Sample)> measured,
        LatencyMachine machine, ILatencyRuntime runtime, LatencyMeasurementOptions options)
    {
        double T(LatencyProbe p)
        {
            foreach (var (probe, s) in measured) if (probe == p) return s.MedianMs;
            throw new ArgumentException($"No measurement for probe '{p}'.");
        }
        int kMin = preset.Kernels.Min();
        // Entries are differences of medians; an operation faster than the timing noise can come out negative, and a
        // table of such entries can predict ≤ 0 ms for the fastest networks (impossible budgets). A cost is at least 0;
        // the point-wise part is taken after the clamped depth-wise one, so a layer's measured total is kept whenever
        // it is positive.
        double fixedMs = Math.Max(0, T(new(LatencyProbeKind.Stem, -1)) + T(new(LatencyProbeKind.Head, -1)) - T(new(LatencyProbeKind.Overhead, -1)));
        var geo = preset.Geometry();
        var layers = new List<LatencyLayerEntry>(geo.Count);
        for (int i = 0; i < geo.Count; i++)
        {
            double overhead = T(new(LatencyProbeKind.Overhead, i));
            var dw = preset.Kernels.Select(k => Math.Max(0, T(new(LatencyProbeKind.Depthwise, i, k)) - overhead)).ToArray();
            double dwMin = dw[preset.Kernels.ToList().IndexOf(kMin)];
            var pw = Enumerable.Range(preset.MinExpansion, preset.MaxExpansion - preset.MinExpansion + 1)
                .Select(e => Math.Max(0, T(new(LatencyProbeKind.Layer, i, kMin, e)) - overhead - e * dwMin)).ToArray();
            layers.Add(new LatencyLayerEntry
            {
                InChannels = geo[i].InChannels, OutChannels = geo[i].OutChannels, Stride = geo[i].Stride, InSize = geo[i].InSize,
                DepthwiseMs = dw, PointwiseMs = pw,
            });
        }
        return new LatencyTable
        {
            Preset = preset.Name,
            Kernels = preset.Kernels.ToArray(),
            MinExpansion = preset.MinExpansion,
            MaxExpansion = preset.MaxExpansion,
            FixedMs = fixedMs,
            Layers = layers,
            Machine = machine,
            Runtime = new LatencyRuntimeInfo
            {
                Name = runtime.Name, Version = runtime.Version, Threads = runtime.Threads, Settings = runtime.Settings,
                Warmup = options.Warmup, Repetitions = options.Repetitions,
                Statistic = options.Quantile == 0.5 ? "median" : $"quantile {options.Quantile.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)}",
            },
            CreatedUtc = DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
        };
    }

    private sealed class InlineProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
