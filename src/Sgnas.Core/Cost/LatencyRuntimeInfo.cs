namespace Sgnas.Cost;

/// <summary>The runtime and measurement settings behind a latency table.</summary>
public sealed record LatencyRuntimeInfo
{
    /// <summary>Runtime name: <c>onnxruntime</c> or <c>torchsharp</c>.</summary>
    public required string Name { get; init; }
    /// <summary>Runtime version.</summary>
    public required string Version { get; init; }
    /// <summary>Intra-op threads.</summary>
    public required int Threads { get; init; }
    /// <summary>Warm-up runs per probe before timing.</summary>
    public required int Warmup { get; init; }
    /// <summary>Timed samples per probe (the median is kept).</summary>
    public required int Repetitions { get; init; }
    /// <summary>Batch size (1).</summary>
    public int Batch { get; init; } = 1;
    /// <summary>Statistic over the samples.</summary>
    public string Statistic { get; init; } = "median";
    /// <summary>Runtime-specific settings (e.g. ONNX Runtime's graph optimisation level).</summary>
    public string? Settings { get; init; }
}
