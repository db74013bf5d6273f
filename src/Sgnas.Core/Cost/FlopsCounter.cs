using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Cost;

/// <summary>MACs and parameters of a network, as counted on the built modules.</summary>
/// <param name="Macs">Convolution multiply-accumulates at the preset's input size (docs/design.md §2).</param>
/// <param name="Parameters">All trainable parameters, FC and BN included.</param>
public sealed record NetworkCost(double Macs, long Parameters)
{
    /// <summary>MACs in millions.</summary>
    public double FlopsM => Macs / 1e6;
    /// <summary>Parameters in millions.</summary>
    public double ParamsM => Parameters / 1e6;
}

/// <summary>
/// The exact counter: runs one forward pass of a built network on a dummy input and sums, over every Conv2d,
/// out_elements × k_h·k_w × c_in / groups (read from the conv's output and weight shapes). Independent of the
/// lookup table, so it can check Eq. 9.
/// </summary>
public static class FlopsCounter
{
    /// <summary>Counts MACs and parameters of a module whose forward takes an image batch.</summary>
    public static NetworkCost Count(nn.Module<Tensor, Tensor> network, int inputChannels, int inputSize)
    {
        double macs = 0;
        var handles = new List<IDisposable>();
        var wasTraining = network.training;
        network.eval();
        try
        {
            foreach (var (_, m) in network.named_modules())
            {
                if (m is not Conv2d conv) continue;
                var h = conv.register_forward_hook((mod, input, output) =>
                {
                    var w = ((Conv2d)mod).weight!;
                    long perOut = w.shape[1] * w.shape[2] * w.shape[3]; // c_in/groups × k_h × k_w
                    macs += (double)(output.numel() / output.shape[0]) * perOut;
                    return output;
                });
                handles.Add(new HookRemover(() => h.remove()));
            }
            using var scope = NewDisposeScope();
            using var _ = no_grad();
            var dev = network.parameters().First().device;
            network.call(zeros(1, inputChannels, inputSize, inputSize, device: dev));
        }
        finally
        {
            foreach (var h in handles) h.Dispose();
            network.train(wasTraining);
        }
        long parameters = network.parameters().Sum(p => p.numel());
        return new NetworkCost(macs, parameters);
    }

    /// <summary>Builds <paramref name="arch"/> as a standalone network and counts it.</summary>
    public static NetworkCost Count(SearchSpacePreset preset, Architecture arch, ChildNetworkOptions? options = null)
    {
        using var net = new ChildNetwork(preset, arch, options);
        return Count(net, preset.InputChannels, preset.InputSize);
    }

    private sealed class HookRemover(Action remove) : IDisposable
    {
        public void Dispose() => remove();
    }
}
