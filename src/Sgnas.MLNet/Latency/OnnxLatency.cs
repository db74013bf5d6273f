using Sgnas.Cost;
using Sgnas.Search;
using Sgnas.SearchSpace;

namespace Sgnas.MLNet.Latency;

/// <summary>
/// Measured ONNX Runtime latency for the places that judge or report it (docs/latency.md): picks of any strategy,
/// a whole comparison (<c>compare</c> reports it beside FLOPs), generated architectures (the ML.NET estimators), and
/// a <see cref="MeasuredLatencyCost"/> for random search and evolution judged on measurements instead of a table.
/// Every network is exported with the project's ONNX exporter and timed at batch 1 by <see cref="LatencyMeter"/>
/// (warm-up, calibrated samples, interleaved rounds, median or the configured quantile).
/// </summary>
public static class OnnxLatency
{
    /// <summary>
    /// Batch-1 latency of each architecture in ONNX Runtime, in ms, in order (timed together, so a busy phase of the
    /// machine spreads over all of them).
    /// </summary>
    public static IReadOnlyList<double> MeasureMs(SearchSpacePreset preset, IReadOnlyList<Architecture> architectures,
        LatencyMeasurementOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LatencyMeasurementOptions();
        using var runtime = new OnnxRuntimeLatency(options.Threads);
        return LatencyMeter.MeasureMs(preset, architectures, runtime, options, cancellationToken);
    }

    /// <summary>
    /// The picks of <paramref name="result"/> with <see cref="SearchResult.MeasuredMs"/> filled in from ONNX Runtime
    /// (all picks timed together). The random sample is left as it is.
    /// </summary>
    public static ComparisonResult MeasureComparison(ComparisonResult result, SearchSpacePreset preset,
        LatencyMeasurementOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(preset);
        if (result.Preset != preset.Name)
            throw new ArgumentException($"the comparison is for preset '{result.Preset}', not '{preset.Name}'.", nameof(preset));
        var ms = MeasureMs(preset, result.Results.Select(r => r.Architecture).ToList(), options, cancellationToken);
        return result with { Results = result.Results.Select((r, i) => r with { MeasuredMs = ms[i] }).ToList() };
    }

    /// <summary>
    /// Latency measured in ONNX Runtime as a constraint cost, for random search and evolution judged on measurements
    /// (each candidate is exported and timed once; see <see cref="MeasuredLatencyCost"/>).
    /// </summary>
    public static MeasuredLatencyCost MeasuredCost(SearchSpacePreset preset, LatencyMeasurementOptions? options = null)
    {
        options ??= new LatencyMeasurementOptions();
        // OnnxRuntimeLatency holds nothing between measurements (sessions belong to their runners), so the cost may own it unreleased.
        return new MeasuredLatencyCost(preset, new OnnxRuntimeLatency(options.Threads), options);
    }
}
