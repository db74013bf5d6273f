using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Sgnas.Distributed.BatchNormDispatch;

namespace Sgnas.Modules;

/// <summary>
/// The fixed front of every network of a preset (paper Table 6): Conv3×3 stem (BN, act), then the MBConv e1 k3
/// block (depthwise 3×3, BN, act, pointwise to <c>FirstBlockChannels</c>, BN). Shared by supernet and child networks.
/// </summary>
public sealed class Stem : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly Conv2d first_dw;
    private readonly BatchNorm2d first_dw_bn;
    private readonly Conv2d first_pw;
    private readonly BatchNorm2d first_pw_bn;
    private readonly SqueezeExcite? first_se;
    private readonly ActivationKind _act;

    /// <summary>Builds the stem of <paramref name="p"/> with activation <paramref name="act"/>.</summary>
    /// <param name="p">The preset.</param>
    /// <param name="act">Activation.</param>
    /// <param name="seSqueezed">When positive, an SE gate of this bottleneck width after the first MBConv's depthwise stage
    /// (child networks with <see cref="ChildNetworkOptions.StemSqueezeExcite"/>; the supernet has none).</param>
    public Stem(SearchSpacePreset p, ActivationKind act = ActivationKind.ReLU6, int seSqueezed = 0) : base(nameof(Stem))
    {
        if (seSqueezed > 0) first_se = new SqueezeExcite(p.StemChannels, seSqueezed);
        _act = act;
        conv = nn.Conv2d(p.InputChannels, p.StemChannels, 3, stride: p.StemStride, padding: 1, bias: false);
        bn = nn.BatchNorm2d(p.StemChannels);
        first_dw = nn.Conv2d(p.StemChannels, p.StemChannels, 3, padding: 1, groups: p.StemChannels, bias: false);
        first_dw_bn = nn.BatchNorm2d(p.StemChannels);
        first_pw = nn.Conv2d(p.StemChannels, p.FirstBlockChannels, 1, bias: false);
        first_pw_bn = nn.BatchNorm2d(p.FirstBlockChannels);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = Act.Apply(Bn(bn, conv.call(x)), _act);
        h = Act.Apply(Bn(first_dw_bn, first_dw.call(h)), _act);
        if (first_se is not null) h = first_se.call(h);
        return Bn(first_pw_bn, ChannelsLast.Pointwise(first_pw, h));
    }

    /// <summary>The SE gate of the first MBConv (after its depthwise stage), or null.</summary>
    public SqueezeExcite? SE => first_se;

    /// <summary>Modules in call order, for exporters: (conv, bn, activation after?).</summary>
    public IReadOnlyList<(Conv2d Conv, BatchNorm2d Bn, bool Activated)> Sequence =>
        new[] { (conv, bn, true), (first_dw, first_dw_bn, true), (first_pw, first_pw_bn, false) };
}

/// <summary>
/// The fixed back of every network: Conv1×1 to <c>HeadChannels</c> (BN, act), global average pool, optional
/// dropout, and the linear classifier.
/// </summary>
public sealed class Head : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d conv;
    private readonly BatchNorm2d bn;
    private readonly Dropout dropout;
    private readonly Linear classifier;
    private readonly ActivationKind _act;

    /// <summary>Builds the head of <paramref name="p"/>.</summary>
    public Head(SearchSpacePreset p, ActivationKind act = ActivationKind.ReLU6, double dropoutRate = 0.0) : base(nameof(Head))
    {
        _act = act;
        conv = nn.Conv2d(p.Layers[^1].OutChannels, p.HeadChannels, 1, bias: false);
        bn = nn.BatchNorm2d(p.HeadChannels);
        dropout = nn.Dropout(dropoutRate);
        classifier = nn.Linear(p.HeadChannels, p.NumClasses);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = Act.Apply(Bn(bn, ChannelsLast.Pointwise(conv, x)), _act);
        h = h.mean(new long[] { 2, 3 });
        return classifier.call(dropout.call(h));
    }

    /// <summary>The 1×1 conv and its BN.</summary>
    public (Conv2d Conv, BatchNorm2d Bn) ConvBn => (conv, bn);
    /// <summary>The final linear layer.</summary>
    public Linear Classifier => classifier;
}
