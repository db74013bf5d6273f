using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Modules;

/// <summary>Activation used by a network: ReLU6 (paper supernet) or h-swish (SGNAS-A/B/C retraining, paper 4.2.2).</summary>
public enum ActivationKind
{
    /// <summary>min(max(x, 0), 6).</summary>
    ReLU6,
    /// <summary>x · ReLU6(x + 3) / 6.</summary>
    HSwish,
}

internal static class Act
{
    public static Tensor Apply(Tensor x, ActivationKind kind) => kind switch
    {
        ActivationKind.ReLU6 => nn.functional.relu6(x),
        ActivationKind.HSwish => nn.functional.hardswish(x),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
