using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>What a latency probe times (docs/latency.md).</summary>
public enum LatencyProbeKind
{
    /// <summary>A copy of the layer's input: the cost of one run of the runtime, subtracted from the others.</summary>
    Overhead,
    /// <summary>The stem conv and the fixed first MBConv block on the input image.</summary>
    Stem,
    /// <summary>The head conv, global pooling and classifier on the last block's output.</summary>
    Head,
    /// <summary>One sub-block's depthwise conv (one channel group) with one kernel.</summary>
    Depthwise,
    /// <summary>A whole unified block at one expansion rate with the smallest kernel in every sub-block.</summary>
    Layer,
}

/// <summary>One small network timed to build a latency table.</summary>
/// <param name="Kind">What it times.</param>
/// <param name="Layer">Unified block index (−1 for stem, head and the network-input overhead).</param>
/// <param name="Kernel">Depthwise kernel size (Depthwise and Layer probes), else 0.</param>
/// <param name="Expansion">Expansion rate (Layer probes), else 0.</param>
public sealed record LatencyProbe(LatencyProbeKind Kind, int Layer, int Kernel = 0, int Expansion = 0)
{
    /// <summary>Input shape [1, C, H, W] of the probe in <paramref name="preset"/>.</summary>
    public long[] InputShape(SearchSpacePreset preset)
    {
        var geo = preset.Geometry();
        return Kind switch
        {
            LatencyProbeKind.Stem => new long[] { 1, preset.InputChannels, preset.InputSize, preset.InputSize },
            LatencyProbeKind.Head => new long[] { 1, geo[^1].OutChannels, preset.FinalSize, preset.FinalSize },
            LatencyProbeKind.Overhead when Layer < 0 => new long[] { 1, geo[^1].OutChannels, preset.FinalSize, preset.FinalSize },
            _ => new long[] { 1, geo[Layer].InChannels, geo[Layer].InSize, geo[Layer].InSize },
        };
    }

    /// <summary>Every probe a table for <paramref name="preset"/> needs: per layer an overhead probe, one depthwise
    /// probe per kernel and one layer probe per expansion rate; the stem, the head and the head-input overhead.</summary>
    public static IReadOnlyList<LatencyProbe> All(SearchSpacePreset preset)
    {
        var list = new List<LatencyProbe> { new(LatencyProbeKind.Stem, -1), new(LatencyProbeKind.Head, -1), new(LatencyProbeKind.Overhead, -1) };
        int kMin = preset.Kernels.Min();
        for (int i = 0; i < preset.LayerCount; i++)
        {
            list.Add(new(LatencyProbeKind.Overhead, i));
            foreach (int k in preset.Kernels) list.Add(new(LatencyProbeKind.Depthwise, i, k));
            for (int e = preset.MinExpansion; e <= preset.MaxExpansion; e++) list.Add(new(LatencyProbeKind.Layer, i, kMin, e));
        }
        return list;
    }

    /// <inheritdoc />
    public override string ToString() => Kind switch
    {
        LatencyProbeKind.Depthwise => $"layer {Layer} depthwise k{Kernel}",
        LatencyProbeKind.Layer => $"layer {Layer} e{Expansion} (k{Kernel})",
        LatencyProbeKind.Overhead => Layer < 0 ? "overhead (head input)" : $"layer {Layer} overhead",
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
