using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Cost;

/// <summary>
/// TorchSharp (libtorch, CPU) as a latency runtime: the probes are the project's own modules in eval mode, run
/// under no_grad, the way <see cref="ChildNetwork"/> runs inference. Sets libtorch's intra-op thread count for its
/// lifetime (only when it differs) and restores it on dispose.
/// </summary>
public sealed class TorchLatencyRuntime : ILatencyRuntime
{
    private readonly int _previousThreads;

    /// <summary>Uses <paramref name="threads"/> intra-op threads.</summary>
    public TorchLatencyRuntime(int threads = 1)
    {
        if (threads < 1) throw new ArgumentOutOfRangeException(nameof(threads), threads, "Threads must be at least 1.");
        Threads = threads;
        _previousThreads = torch.get_num_threads();
        if (_previousThreads != threads) torch.set_num_threads(threads);
    }

    /// <inheritdoc />
    public string Name => "torchsharp";
    /// <inheritdoc />
    public string Version => typeof(torch).Assembly.GetName().Version?.ToString() ?? "unknown";
    /// <inheritdoc />
    public int Threads { get; }
    /// <inheritdoc />
    public string? Settings => "cpu, eval, no_grad";

    /// <inheritdoc />
    public ILatencyRunner Prepare(SearchSpacePreset preset, LatencyProbe probe, int seed)
    {
        torch.manual_seed(seed);
        var geo = preset.Geometry();
        nn.Module<Tensor, Tensor>? module = probe.Kind switch
        {
            LatencyProbeKind.Overhead => null,
            LatencyProbeKind.Stem => new Stem(preset),
            LatencyProbeKind.Head => new Head(preset),
            LatencyProbeKind.Depthwise => nn.Conv2d(geo[probe.Layer].InChannels, geo[probe.Layer].InChannels, probe.Kernel,
                stride: geo[probe.Layer].Stride, padding: probe.Kernel / 2, groups: geo[probe.Layer].InChannels, bias: false),
            LatencyProbeKind.Layer => new ChildBlock(geo[probe.Layer], new LayerChoice(Enumerable.Repeat(probe.Kernel, probe.Expansion)), new ChildNetworkOptions()),
            _ => throw new ArgumentOutOfRangeException(nameof(probe), probe.Kind, "Unknown probe kind."),
        };
        return new Runner(module, randn(probe.InputShape(preset)));
    }

    /// <inheritdoc />
    public ILatencyRunner PrepareNetwork(SearchSpacePreset preset, Architecture arch, int seed)
    {
        torch.manual_seed(seed);
        return new Runner(new ChildNetwork(preset, arch), randn(1, preset.InputChannels, preset.InputSize, preset.InputSize));
    }

    /// <summary>Restores libtorch's previous thread count.</summary>
    public void Dispose()
    {
        if (_previousThreads != Threads) torch.set_num_threads(_previousThreads);
    }

    private sealed class Runner : ILatencyRunner
    {
        private readonly nn.Module<Tensor, Tensor>? _module;
        private readonly Tensor _input;

        public Runner(nn.Module<Tensor, Tensor>? module, Tensor input)
        {
            _module = module; _input = input;
            _module?.eval();
        }

        public void Run()
        {
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            // The overhead probe: one copy, the least a module call can do.
            var y = _module is null ? _input.clone() : _module.call(_input);
            y.data<float>(); // forces completion (CPU ops are synchronous; this keeps it so for other backends)
        }

        public void Dispose()
        {
            _module?.Dispose();
            _input.Dispose();
        }
    }
}
