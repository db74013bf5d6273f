using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Sgnas.Distributed.BatchNormDispatch;

namespace Sgnas.Modules;

/// <summary>
/// Shadow batch normalisation (SGNAS paper section 3.3, Fig. 4): one BatchNorm per expansion rate after the
/// projecting pointwise conv, so the very different statistics of e = 2..6 are not averaged into one.
/// </summary>
public sealed class ShadowBatchNorm : nn.Module
{
    private readonly ModuleList<BatchNorm2d> bns;
    private readonly int _minExpansion;

    /// <summary>Creates one BN of <paramref name="channels"/> channels per rate in [minExpansion, maxExpansion].</summary>
    public ShadowBatchNorm(int channels, int minExpansion, int maxExpansion) : base(nameof(ShadowBatchNorm))
    {
        _minExpansion = minExpansion;
        bns = new ModuleList<BatchNorm2d>();
        for (int e = minExpansion; e <= maxExpansion; e++) bns.Add(nn.BatchNorm2d(channels));
        RegisterComponents();
    }

    /// <summary>Number of shadow BNs.</summary>
    public int Count => bns.Count;

    /// <summary>The BN of expansion rate <paramref name="expansion"/>.</summary>
    public BatchNorm2d For(int expansion) => bns[expansion - _minExpansion];

    /// <summary>Normalises with the BN of the active expansion rate.</summary>
    public Tensor Forward(Tensor x, int expansion) => Bn(For(expansion), x);

    /// <summary>
    /// Relaxed form: Σ_e p(e) · BN_e(x), where <paramref name="rateProbs"/> holds p(e) for e = min..max.
    /// Each BN runs in its current mode; with a frozen supernet they are affine maps.
    /// </summary>
    public Tensor ForwardRelaxed(Tensor x, Tensor rateProbs)
    {
        Tensor? sum = null;
        for (int i = 0; i < bns.Count; i++)
        {
            var term = Bn(bns[i], x) * rateProbs[i];
            sum = sum is null ? term : sum + term;
        }
        return sum!;
    }
}
