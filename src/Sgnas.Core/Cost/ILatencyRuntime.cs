using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>One prepared network that a latency runtime can run on its batch-1 input, over and over.</summary>
public interface ILatencyRunner : IDisposable
{
    /// <summary>Runs the network once on its (fixed) input and waits for the result.</summary>
    void Run();
}

/// <summary>
/// An inference runtime whose batch-1 latency is measured (docs/latency.md): ONNX Runtime (in Sgnas.MLNet, the
/// runtime a saved ML.NET model uses) or TorchSharp (<see cref="TorchLatencyRuntime"/>).
/// </summary>
public interface ILatencyRuntime : IDisposable
{
    /// <summary>Runtime name written into the table (<c>onnxruntime</c>, <c>torchsharp</c>).</summary>
    string Name { get; }
    /// <summary>Runtime version written into the table.</summary>
    string Version { get; }
    /// <summary>Intra-op threads the runtime uses.</summary>
    int Threads { get; }
    /// <summary>Runtime-specific settings written into the table, or null.</summary>
    string? Settings { get; }
    /// <summary>Prepares one table probe of <paramref name="preset"/> with random weights.</summary>
    ILatencyRunner Prepare(SearchSpacePreset preset, LatencyProbe probe, int seed);
    /// <summary>Prepares the whole network of <paramref name="arch"/> with random weights, as it would be deployed
    /// (ONNX Runtime: exported with the project's ONNX exporter).</summary>
    ILatencyRunner PrepareNetwork(SearchSpacePreset preset, Architecture arch, int seed);
}
