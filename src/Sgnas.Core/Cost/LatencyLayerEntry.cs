namespace Sgnas.Cost;

/// <summary>
/// Measured latencies of one unified block (docs/latency.md). <see cref="DepthwiseMs"/>[k] is one sub-block's
/// depthwise conv (one channel group of c_in channels) with kernel option k; <see cref="PointwiseMs"/>[e − e_min] is
/// everything else the block runs at expansion rate e: the expanding and projecting 1×1 convs at width e·c_in, their
/// activations, the split and concatenation of the groups and the residual add. The layer at expansion e with
/// kernels k_1..k_e costs PointwiseMs[e − e_min] + Σ_j DepthwiseMs[k_j].
/// </summary>
public sealed record LatencyLayerEntry
{
    /// <summary>Input channels c_in (the width of one channel group).</summary>
    public required int InChannels { get; init; }
    /// <summary>Output channels.</summary>
    public required int OutChannels { get; init; }
    /// <summary>Stride of the depthwise convs.</summary>
    public required int Stride { get; init; }
    /// <summary>Input height and width.</summary>
    public required int InSize { get; init; }
    /// <summary>Per kernel option: one sub-block's depthwise conv, ms.</summary>
    public required IReadOnlyList<double> DepthwiseMs { get; init; }
    /// <summary>Per expansion rate e_min..e_max: the rest of the block, ms.</summary>
    public required IReadOnlyList<double> PointwiseMs { get; init; }
}
