using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>
/// Measures whole networks end to end in a latency runtime (docs/latency.md): each architecture is prepared as it
/// would be deployed (<see cref="ILatencyRuntime.PrepareNetwork"/>; ONNX Runtime: exported with the project's ONNX
/// exporter) and all of them are timed together by <see cref="InterleavedTimer"/>, so a slow phase of the machine
/// spreads over all networks instead of biasing a few. Used to judge picks on measured latency (random search,
/// evolution, <c>compare</c>, the ML.NET estimators) rather than on the table.
/// </summary>
public static class LatencyMeter
{
    /// <summary>
    /// The kept latency (<see cref="LatencyMeasurementOptions.Quantile"/>, the median by default) of each architecture,
    /// in ms, in order. Duplicates are measured once.
    /// </summary>
    public static IReadOnlyList<double> MeasureMs(SearchSpacePreset preset, IReadOnlyList<Architecture> architectures, ILatencyRuntime runtime,
        LatencyMeasurementOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(architectures);
        ArgumentNullException.ThrowIfNull(runtime);
        options ??= new LatencyMeasurementOptions();
        options.Validate();
        if (architectures.Count == 0) return Array.Empty<double>();
        var distinct = architectures.Select(a => a.Canonical()).Distinct().ToList();
        var runners = new List<ILatencyRunner>(distinct.Count);
        try
        {
            // The same weights seed for every network: latency does not depend on the values, and equal seeds keep a
            // network's measurement independent of which others it was timed with.
            foreach (var a in distinct) runners.Add(runtime.PrepareNetwork(preset, a, options.Seed));
            var samples = InterleavedTimer.Measure(runners, options, null, cancellationToken);
            var byArch = distinct.Select((a, i) => (a, samples[i].MedianMs)).ToDictionary(p => p.a, p => p.MedianMs);
            return architectures.Select(a => byArch[a.Canonical()]).ToArray();
        }
        finally
        {
            foreach (var r in runners) r.Dispose();
        }
    }
}

/// <summary>
/// Latency measured end to end in a runtime as a <see cref="ConstraintCost"/> (docs/latency.md, "judged on measured
/// latency"): the cost of an architecture is its measured batch-1 latency in ms (measured once, then cached). It has
/// no relaxed form (<see cref="IsDifferentiable"/> is false), so it judges random search, evolution and UNAS, while a
/// generator is trained against a table. Every measurement costs the runtime's session setup plus the timing rounds
/// (tens of ms for small networks), so a search that proposes thousands of candidates pays for each.
/// </summary>
public sealed class MeasuredLatencyCost : ConstraintCost
{
    private readonly ILatencyRuntime _runtime;
    private readonly LatencyMeasurementOptions _options;
    private readonly Dictionary<Architecture, double> _cache = new();

    /// <summary>Creates the cost; the runtime is not disposed by it.</summary>
    public MeasuredLatencyCost(SearchSpacePreset preset, ILatencyRuntime runtime, LatencyMeasurementOptions? options = null)
    {
        Preset = preset ?? throw new ArgumentNullException(nameof(preset));
        _runtime = runtime ?? throw new ArgumentNullException(nameof(runtime));
        _options = options ?? new LatencyMeasurementOptions();
        _options.Validate();
    }

    /// <inheritdoc />
    public override ConstraintKind Kind => ConstraintKind.Latency;
    /// <inheritdoc />
    public override SearchSpacePreset Preset { get; }
    /// <inheritdoc />
    public override bool IsDifferentiable => false;
    /// <inheritdoc />
    public override string Identity => $"latency:measured:{_runtime.Name}";
    /// <summary>Networks measured so far.</summary>
    public int Measured => _cache.Count;

    /// <summary>The measured latency of <paramref name="arch"/> in ms (cached per canonical architecture).</summary>
    public override double Of(Architecture arch)
    {
        ArgumentNullException.ThrowIfNull(arch);
        var key = arch.Canonical();
        if (_cache.TryGetValue(key, out double ms)) return ms;
        return _cache[key] = LatencyMeter.MeasureMs(Preset, new[] { key }, _runtime, _options)[0];
    }

    /// <summary>Not available: a measurement has no relaxed form.</summary>
    /// <exception cref="NotSupportedException">Always.</exception>
    public override TorchSharp.torch.Tensor Of(TorchSharp.torch.Tensor m) => throw new NotSupportedException(
        "Measured latency has no differentiable form; train the generator against a latency table ('sgnas latency-table') and judge its picks on measured latency.");
}
