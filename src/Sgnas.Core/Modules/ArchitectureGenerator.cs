using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Modules;

/// <summary>
/// The architecture generator G of SGNAS (paper section 3.2.4, Fig. 2, appendix C; docs/design.md §4;
/// reference code <c>SinGenerator</c>): α = G(B, c) for a random prior B (one-hot map reshaped to L × (e_max·options))
/// and the normalised constraint c. All convs are 3×3, stride 1, padding 1, so the output keeps the prior's shape.
/// <code>
/// constraint head: c broadcast to hc_dim channels over the L×W map → 3 × (conv hidden, ReLU)
/// prior head:      B [1 channel]                                  → 2 × (conv hidden, ReLU)
/// s    = constraint head + prior head
/// y    = body(head(s))      head: conv+ReLU; body: bodyLayers × (conv+ReLU)
/// α    = tail(y + s)        residual around head+body (as the reference: body output + the sum s); tail: conv → 1 channel
/// </code>
/// The maps run channels-last whatever <see cref="ChannelsLast.Enabled"/> says: libtorch 2.10's NCHW 3×3
/// convolution on this project's CPU returns wrong input gradients for the 32 → 1 tail on batches of more than one
/// map (NaN or off by 100 %) and wrong outputs for 24 input channels, while channels-last agrees with float64 to 1e-6
/// (docs/performance.md, "Dense convolutions in NCHW"; tests compare batched and per-sample values and gradients).
/// Convs before the tail have no bias (reference <c>ConvRelu</c>); the tail has one. Weights ~ N(0, 2/(k²·c_out)),
/// biases 0 (reference initialisation), drawn from the given seed. Every sample of a batch is processed
/// independently, so N constraints are one forward pass.
/// </summary>
public sealed class ArchitectureGenerator : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential hc_head;
    private readonly Sequential bb_head;
    private readonly Sequential head;
    private readonly Sequential body;
    private readonly Conv2d tail;

    /// <summary>Layers L of the α map.</summary>
    public int Layers { get; }
    /// <summary>Sub-blocks per layer (e_max).</summary>
    public int SubBlocks { get; }
    /// <summary>Options per sub-block (kernels + skip).</summary>
    public int Options { get; }
    /// <summary>Channels the constraint is broadcast to.</summary>
    public int ConstraintChannels { get; }
    /// <summary>Channels of every hidden convolution.</summary>
    public int HiddenChannels { get; }

    /// <summary>Builds a generator for an α map of [layers, subBlocks, options].</summary>
    /// <param name="layers">L.</param>
    /// <param name="subBlocks">e_max.</param>
    /// <param name="options">Options per sub-block.</param>
    /// <param name="constraintChannels">hc_dim (reference: 10).</param>
    /// <param name="hiddenChannels">Channels of every hidden conv (paper: 32).</param>
    /// <param name="bodyLayers">Convs in the body (reference: 3).</param>
    /// <param name="seed">Seed of the weight initialisation.</param>
    public ArchitectureGenerator(int layers, int subBlocks, int options, int constraintChannels = 10, int hiddenChannels = 32,
        int bodyLayers = 3, int seed = 0) : base(nameof(ArchitectureGenerator))
    {
        if (layers < 1 || subBlocks < 1 || options < 1)
            throw new ArgumentException($"α map [{layers}, {subBlocks}, {options}] must have positive dimensions.");
        if (constraintChannels < 1 || hiddenChannels < 1 || bodyLayers < 0)
            throw new ArgumentException("constraintChannels and hiddenChannels must be positive, bodyLayers ≥ 0.");
        Layers = layers; SubBlocks = subBlocks; Options = options; ConstraintChannels = constraintChannels; HiddenChannels = hiddenChannels;
        int n = hiddenChannels;
        hc_head = nn.Sequential(("conv0", Conv(constraintChannels, n)), ("relu0", nn.ReLU()), ("conv1", Conv(n, n)), ("relu1", nn.ReLU()),
            ("conv2", Conv(n, n)), ("relu2", nn.ReLU()));
        bb_head = nn.Sequential(("conv0", Conv(1, n)), ("relu0", nn.ReLU()), ("conv1", Conv(n, n)), ("relu1", nn.ReLU()));
        head = nn.Sequential(("conv", Conv(n, n)), ("relu", nn.ReLU()));
        body = nn.Sequential();
        for (int i = 0; i < bodyLayers; i++)
        {
            body.append($"conv{i}", Conv(n, n));
            body.append($"relu{i}", nn.ReLU());
        }
        tail = nn.Conv2d(n, 1, 3, stride: 1, padding: 1, bias: true);
        RegisterComponents();
        Initialize(seed);
    }

    /// <summary>Builds a generator sized for <paramref name="preset"/>'s α map.</summary>
    public static ArchitectureGenerator For(SearchSpacePreset preset, int constraintChannels = 10, int hiddenChannels = 32, int bodyLayers = 3, int seed = 0) =>
        new(preset.LayerCount, preset.MaxExpansion, preset.OptionCount, constraintChannels, hiddenChannels, bodyLayers, seed);

    private static Conv2d Conv(int cin, int cout) => nn.Conv2d(cin, cout, 3, stride: 1, padding: 1, bias: false);

    private void Initialize(int seed)
    {
        var g = new torch.Generator((ulong)seed);
        using var _ = no_grad();
        foreach (var (_, m) in named_modules())
        {
            if (m is not Conv2d c) continue;
            double fan = c.weight!.shape[0] * c.weight.shape[2] * c.weight.shape[3];
            c.weight.normal_(0, Math.Sqrt(2.0 / fan), g);
            c.bias?.zero_();
        }
    }

    /// <summary>
    /// α for a batch of priors and normalised constraints.
    /// </summary>
    /// <param name="prior">B as [N, 1, L, e_max·options] or [N, L, e_max, options].</param>
    /// <param name="constraint">c as [N] (or [N, 1]).</param>
    /// <returns>α of shape [N, L, e_max, options].</returns>
    public override Tensor forward(Tensor prior, Tensor constraint)
    {
        var b = PriorMaps(prior, "prior", "N");
        long n = b.shape[0], w = b.shape[3];
        if (constraint.numel() != n)
            throw new ArgumentException($"constraint has {constraint.numel()} values for {n} priors; give one per prior.");
        var hc = ChannelsLast.Convert(constraint.reshape(n, 1, 1, 1).to_type(b.dtype).expand(n, ConstraintChannels, Layers, w));
        return Trunk(hc_head.call(hc) + bb_head.call(b));
    }

    /// <summary>
    /// α for N constraints whose priors are rows of <paramref name="priors"/> (P distinct priors, [P, 1, L, e_max·options]
    /// or [P, L, e_max, options]) chosen by <paramref name="index"/> [N]: the values of
    /// <c>forward(priors[index], constraint)</c> (to float rounding), at the cost of the trunk alone per constraint. Why:
    /// generation answers many budgets with few priors (the pool's buckets), and the two heads are 40 % of G's
    /// arithmetic. The prior head runs once per distinct prior. The constraint head runs twice in all: it has no
    /// biases and only ReLUs, so it is positively homogeneous, and on the constant map c·1 it equals
    /// max(c, 0)·head(1) + max(−c, 0)·head(−1).
    /// </summary>
    public Tensor ForwardShared(Tensor priors, Tensor index, Tensor constraint)
    {
        var b = PriorMaps(priors, "priors", "P");
        long n = index.numel(), w = b.shape[3];
        if (constraint.numel() != n)
            throw new ArgumentException($"constraint has {constraint.numel()} values for {n} prior indices; give one per index.");
        var unit = ChannelsLast.Convert(torch.stack([ones(ConstraintChannels, Layers, w, dtype: b.dtype, device: b.device), -ones(ConstraintChannels, Layers, w, dtype: b.dtype, device: b.device)]));
        var hc = hc_head.call(unit);
        var c = constraint.reshape(n, 1, 1, 1).to_type(b.dtype);
        var s = bb_head.call(b).index_select(0, index.reshape(n).to_type(ScalarType.Int64))
            .addcmul_(nn.functional.relu(c), hc.narrow(0, 0, 1), 1).addcmul_(nn.functional.relu(-c), hc.narrow(0, 1, 1), 1);
        return Trunk(s);
    }

    // A batch of priors, [B, 1, L, e_max·options] or [B, L, e_max, options], as channels-last [B, 1, L, e_max·options] maps.
    private Tensor PriorMaps(Tensor prior, string name, string batch)
    {
        long w = SubBlocks * Options;
        bool flat = prior.dim() == 4 && prior.shape[1] == 1 && prior.shape[2] == Layers && prior.shape[3] == w;
        bool map = prior.dim() == 4 && prior.shape[1] == Layers && prior.shape[2] == SubBlocks && prior.shape[3] == Options;
        if (!flat && !map)
            throw new ArgumentException($"{name} must be [{batch}, 1, {Layers}, {w}] or [{batch}, {Layers}, {SubBlocks}, {Options}]; got [{string.Join(", ", prior.shape)}].");
        return ChannelsLast.Convert(prior.reshape(prior.shape[0], 1, Layers, w));
    }

    // head, body, tail around the sum s of the two heads (class remarks).
    private Tensor Trunk(Tensor s)
    {
        var y = body.call(head.call(s));
        return tail.call(y + s).reshape(s.shape[0], Layers, SubBlocks, Options);
    }
}
