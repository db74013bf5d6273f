using Microsoft.ML.OnnxRuntime;
using Sgnas.Cost;
using Sgnas.Modules;
using Sgnas.Onnx;
using Sgnas.SearchSpace;

namespace Sgnas.MLNet.Latency;

/// <summary>
/// ONNX Runtime as a latency runtime (docs/latency.md): the runtime inside ML.NET's ONNX scoring transformer, so
/// the one a saved Sgnas model runs in. Probes are <see cref="LatencyProbeOnnx"/> graphs; whole networks are
/// exported with <see cref="ChildNetworkOnnxExporter"/>. Sessions run sequentially with the given intra-op thread
/// count and full graph optimisation (ONNX Runtime's default level, which fuses conv + clip and folds constants).
/// </summary>
public sealed class OnnxRuntimeLatency : ILatencyRuntime
{
    private readonly GraphOptimizationLevel _level;

    /// <summary>Uses <paramref name="threads"/> intra-op threads and optimisation level <paramref name="level"/>.</summary>
    public OnnxRuntimeLatency(int threads = 1, GraphOptimizationLevel level = GraphOptimizationLevel.ORT_ENABLE_ALL)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be at least 1.");
        Threads = threads; _level = level;
    }

    /// <inheritdoc />
    public string Name => "onnxruntime";
    /// <inheritdoc />
    public string Version => OrtEnv.Instance().GetVersionString();
    /// <inheritdoc />
    public int Threads { get; }
    /// <inheritdoc />
    public string? Settings => $"cpu, {_level}, sequential, inter-op 1";

    /// <inheritdoc />
    public ILatencyRunner Prepare(SearchSpacePreset preset, LatencyProbe probe, int seed)
    {
        var shape = probe.InputShape(preset);
        return new Runner(LatencyProbeOnnx.Build(preset, probe, seed), LatencyProbeOnnx.InputName, shape,
            LatencyProbeOnnx.RandomInput(shape, seed), this);
    }

    /// <inheritdoc />
    public ILatencyRunner PrepareNetwork(SearchSpacePreset preset, Architecture arch, int seed)
    {
        TorchSharp.torch.manual_seed(seed);
        byte[] model;
        using (var net = new ChildNetwork(preset, arch))
        {
            net.eval();
            model = ChildNetworkOnnxExporter.Export(net);
        }
        var shape = new long[] { 1, preset.InputChannels, preset.InputSize, preset.InputSize };
        return new Runner(model, OnnxGraphBuilder.DefaultInputName, shape, LatencyProbeOnnx.RandomInput(shape, seed), this);
    }

    /// <summary>Session options of every timed session.</summary>
    internal SessionOptions CreateOptions()
    {
        var o = new SessionOptions
        {
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
            IntraOpNumThreads = Threads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = _level,
        };
        return o;
    }

    /// <summary>Nothing to release: sessions belong to their runners.</summary>
    public void Dispose() { }

    private sealed class Runner : ILatencyRunner
    {
        private readonly SessionOptions _options;
        private readonly InferenceSession _session;
        private readonly OrtValue _input;
        private readonly RunOptions _run = new();
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;
        private readonly OrtValue[] _inputs;

        public Runner(byte[] model, string inputName, long[] shape, float[] input, OnnxRuntimeLatency runtime)
        {
            _options = runtime.CreateOptions();
            _session = new InferenceSession(model, _options);
            _input = OrtValue.CreateTensorValueFromMemory(input, shape);
            _inputNames = new[] { inputName };
            _inputs = new[] { _input };
            _outputNames = _session.OutputNames.ToArray();
        }

        public void Run()
        {
            using var outputs = _session.Run(_run, _inputNames, _inputs, _outputNames);
        }

        public void Dispose()
        {
            _input.Dispose();
            _run.Dispose();
            _session.Dispose();
            _options.Dispose();
        }
    }
}
