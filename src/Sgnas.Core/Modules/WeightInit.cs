using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Modules;

/// <summary>How a network's weights are initialised before training.</summary>
public enum WeightInitKind
{
    /// <summary>TorchSharp's per-layer defaults (Kaiming-uniform with a = √5 for convs and linear layers).</summary>
    Default,

    /// <summary>
    /// The SGNAS reference code's initialisation (<see cref="WeightInit.Reference"/>): convs N(0, √(2 / (k·k·c_out))),
    /// linear layers N(0, 0.01), BN γ = 1 and β = 0, biases 0.
    /// </summary>
    Reference,
}

/// <summary>
/// Weight initialisation as a separate pass over a built network (timm's <c>_init_weight_goog</c> habit): the modules
/// keep TorchSharp's defaults when built, and a pass like this one overwrites them.
/// </summary>
public static class WeightInit
{
    /// <summary>Standard deviation of the reference conv init: √(2 / (k_h·k_w·c_out)) (He init, fan-out mode).</summary>
    public static double ConvStd(long kernelHeight, long kernelWidth, long outChannels) => Math.Sqrt(2.0 / (kernelHeight * kernelWidth * outChannels));

    /// <summary>Standard deviation of the reference linear-layer init.</summary>
    public const double LinearStd = 0.01;

    /// <summary>Applies <paramref name="kind"/> to every conv, linear and BN module of <paramref name="net"/> (no-op for <see cref="WeightInitKind.Default"/>).</summary>
    public static void Apply(nn.Module net, WeightInitKind kind, torch.Generator? generator = null)
    {
        if (kind == WeightInitKind.Reference) Reference(net, generator);
    }

    /// <summary>
    /// The reference code's initialisation (github.com/eric8607242/SGNAS, <c>model._initialize_weights</c>): every conv
    /// N(0, √(2 / (k·k·c_out))) with c_out its output channels (so a depthwise conv uses its channel count), zero bias;
    /// every linear layer N(0, 0.01), zero bias; every BN weight 1, bias 0. Running statistics are not touched.
    /// </summary>
    public static void Reference(nn.Module net, torch.Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(net);
        using var _ = no_grad();
        foreach (var m in net.modules())
        {
            switch (m)
            {
                case Conv2d conv:
                {
                    var w = conv.weight!;
                    w.normal_(0, ConvStd(w.shape[2], w.shape[3], w.shape[0]), generator);
                    conv.bias?.zero_();
                    break;
                }
                case Linear linear:
                    linear.weight!.normal_(0, LinearStd, generator);
                    linear.bias?.zero_();
                    break;
                case BatchNorm2d bn:
                    bn.weight?.fill_(1);
                    bn.bias?.zero_();
                    break;
            }
        }
    }
}
