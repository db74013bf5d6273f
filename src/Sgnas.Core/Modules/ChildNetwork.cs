using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Sgnas.Distributed.BatchNormDispatch;

namespace Sgnas.Modules;

/// <summary>Options of a standalone network beyond its architecture (SGNAS-A/B/C style, paper section 4.2.2).</summary>
/// <param name="SqueezeExcite">Add squeeze-and-excitation after the depthwise stage of every block.</param>
/// <param name="Activation">ReLU6 (supernet default) or h-swish.</param>
/// <param name="Dropout">Dropout before the classifier.</param>
/// <param name="SeReduction">SE bottleneck ratio: the squeezed width is (see <paramref name="SeBottleneck"/>) / SeReduction.</param>
/// <param name="SeBottleneck">What the SE bottleneck is relative to: the block input width c_in (default, as before)
/// or the expanded width e·c_in (the reference code: e·c_in/4).</param>
/// <param name="StemSqueezeExcite">Also add SE to the fixed first MBConv of the stem (the reference code does).</param>
public sealed record ChildNetworkOptions(bool SqueezeExcite = false, ActivationKind Activation = ActivationKind.ReLU6,
    double Dropout = 0.0, int SeReduction = 4, SeBottleneck SeBottleneck = SeBottleneck.Input, bool StemSqueezeExcite = false)
{
    /// <summary>
    /// The reference code's child network (docs/generator.md section 3): SE in every block with the e·c_in/4
    /// bottleneck, SE in the first MBConv, dropout 0.2 before the classifier.
    /// </summary>
    public static ChildNetworkOptions Reference { get; } = new(SqueezeExcite: true, Dropout: 0.2, SeBottleneck: SeBottleneck.Expanded, StemSqueezeExcite: true);

    /// <summary>Squeezed width of the SE gate of a block with input width <paramref name="inChannels"/> and expansion <paramref name="expansion"/>.</summary>
    public int SeSqueezed(int inChannels, int expansion) =>
        Math.Max(1, (SeBottleneck == SeBottleneck.Expanded ? inChannels * expansion : inChannels) / SeReduction);
}

/// <summary>What the squeeze-and-excitation bottleneck width is relative to.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<SeBottleneck>))]
public enum SeBottleneck
{
    /// <summary>c_in / reduction (MobileNetV3 style on the block input).</summary>
    Input,
    /// <summary>e·c_in / reduction, the expanded width (the SGNAS reference code).</summary>
    Expanded,
}

/// <summary>
/// Squeeze-and-excitation: global pool, 1×1 reduce (ReLU), 1×1 expand, hard-sigmoid gate (as in MobileNetV3).
/// </summary>
public sealed class SqueezeExcite : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d reduce;
    private readonly Conv2d expand;

    /// <summary>Creates an SE gate over <paramref name="channels"/> with a <paramref name="squeezed"/>-wide bottleneck.</summary>
    public SqueezeExcite(int channels, int squeezed) : base(nameof(SqueezeExcite))
    {
        reduce = nn.Conv2d(channels, squeezed, 1, bias: true);
        expand = nn.Conv2d(squeezed, channels, 1, bias: true);
        RegisterComponents();
    }

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var s = x.mean(new long[] { 2, 3 }, keepdim: true);
        s = nn.functional.relu(reduce.call(s));
        s = nn.functional.hardsigmoid(expand.call(s));
        return x * s;
    }

    /// <summary>The reduce and expand convs (with bias).</summary>
    public (Conv2d Reduce, Conv2d Expand) Convs => (reduce, expand);
}

/// <summary>
/// One block of a standalone network: only the active sub-blocks exist. Expand to e·c_in (BN, act), a depthwise
/// conv per channel group with its own kernel (MixConv-style), BN and act over the concatenation, optional SE,
/// project to c_out (BN), residual when stride 1 and c_in = c_out.
/// </summary>
public sealed class ChildBlock : nn.Module<Tensor, Tensor>
{
    private readonly Conv2d expand;
    private readonly BatchNorm2d expand_bn;
    private readonly ModuleList<Conv2d> dw;
    private readonly BatchNorm2d dw_bn;
    private readonly SqueezeExcite? se;
    private readonly Conv2d project;
    private readonly BatchNorm2d project_bn;
    private readonly LayerGeometry _g;
    private readonly ActivationKind _act;

    /// <summary>Builds the block for layer geometry <paramref name="g"/> and choice <paramref name="choice"/>.</summary>
    public ChildBlock(LayerGeometry g, LayerChoice choice, ChildNetworkOptions o) : base(nameof(ChildBlock))
    {
        _g = g; _act = o.Activation;
        int c = g.InChannels, wide = c * choice.Expansion;
        expand = nn.Conv2d(c, wide, 1, bias: false);
        expand_bn = nn.BatchNorm2d(wide);
        dw = new ModuleList<Conv2d>();
        foreach (var k in choice.Kernels) dw.Add(nn.Conv2d(c, c, k, stride: g.Stride, padding: k / 2, groups: c, bias: false));
        dw_bn = nn.BatchNorm2d(wide);
        if (o.SqueezeExcite) se = new SqueezeExcite(wide, o.SeSqueezed(c, choice.Expansion));
        project = nn.Conv2d(wide, g.OutChannels, 1, bias: false);
        project_bn = nn.BatchNorm2d(g.OutChannels);
        RegisterComponents();
    }

    /// <summary>Shapes of this block.</summary>
    public LayerGeometry Geometry => _g;
    /// <summary>The expanding 1×1 conv and its BN.</summary>
    public (Conv2d Conv, BatchNorm2d Bn) Expand => (expand, expand_bn);
    /// <summary>The depthwise convs, one per channel group, and the BN over their concatenation.</summary>
    public (IReadOnlyList<Conv2d> Convs, BatchNorm2d Bn) Depthwise => (dw.ToList(), dw_bn);
    /// <summary>The SE gate, or null.</summary>
    public SqueezeExcite? SE => se;
    /// <summary>The projecting 1×1 conv and its BN.</summary>
    public (Conv2d Conv, BatchNorm2d Bn) Project => (project, project_bn);

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = Act.Apply(Bn(expand_bn, ChannelsLast.Pointwise(expand, x)), _act);
        h = Act.Apply(Bn(dw_bn, MixedDepthwise.Forward(h, dw, _g.Stride)), _act);
        if (se is not null) h = se.call(h);
        var y = Bn(project_bn, ChannelsLast.Pointwise(project, h));
        return _g.HasResidual ? y + x : y;
    }
}

/// <summary>
/// A discrete architecture built as a standalone network (stage 3 of SGNAS): its parameters and MACs are those
/// of the derived network, with no supernet overhead.
/// </summary>
public sealed class ChildNetwork : nn.Module<Tensor, Tensor>
{
    private readonly Stem stem;
    private readonly ModuleList<ChildBlock> blocks;
    private readonly Head head;

    /// <summary>The preset the network belongs to.</summary>
    public SearchSpacePreset Preset { get; }
    /// <summary>The architecture it realises (canonical).</summary>
    public Architecture Architecture { get; }
    /// <summary>Options it was built with.</summary>
    public ChildNetworkOptions Options { get; }

    /// <summary>Builds <paramref name="arch"/> of <paramref name="preset"/>; validates the architecture first.</summary>
    /// <param name="preset">The search space.</param>
    /// <param name="arch">The architecture.</param>
    /// <param name="options">SE, activation, dropout.</param>
    /// <param name="canonicalize">Sort each layer's kernels (the same network); false keeps the given group order,
    /// which weight inheritance from a supernet needs.</param>
    public ChildNetwork(SearchSpacePreset preset, Architecture arch, ChildNetworkOptions? options = null, bool canonicalize = true)
        : base(nameof(ChildNetwork))
    {
        arch.Validate(preset);
        Preset = preset; Architecture = canonicalize ? arch.Canonical() : arch; Options = options ?? new ChildNetworkOptions();
        stem = new Stem(preset, Options.Activation, Options.StemSqueezeExcite ? Options.SeSqueezed(preset.StemChannels, 1) : 0);
        blocks = new ModuleList<ChildBlock>();
        var geo = preset.Geometry();
        for (int i = 0; i < geo.Count; i++) blocks.Add(new ChildBlock(geo[i], Architecture.Layers[i], Options));
        head = new Head(preset, Options.Activation, Options.Dropout);
        RegisterComponents();
    }

    /// <summary>The stem module.</summary>
    public Stem StemModule => stem;
    /// <summary>The blocks in order.</summary>
    public IReadOnlyList<ChildBlock> Blocks => blocks.ToList();
    /// <summary>The head module.</summary>
    public Head HeadModule => head;

    /// <inheritdoc />
    public override Tensor forward(Tensor x)
    {
        var h = stem.call(Runtime.ChannelsLast.Apply(x));
        foreach (var b in blocks) h = b.call(h);
        return head.call(h);
    }

    /// <summary>Number of parameters.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}
