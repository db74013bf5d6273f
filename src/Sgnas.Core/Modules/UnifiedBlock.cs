using Sgnas.Runtime;
using Sgnas.Distributed;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static Sgnas.Distributed.BatchNormDispatch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Modules;

/// <summary>
/// The unified block of SGNAS (paper section 3.3, docs/design.md §2): a pointwise conv expands c_in to
/// e_max·c_in (BN, ReLU6); the expanded tensor is split into e_max groups of c_in channels; sub-block j applies one
/// of the depthwise options (own weights and BN per kernel) or skip; the groups are concatenated and projected to
/// c_out, followed by the shadow BN of the active expansion rate and a residual when stride 1 and c_in = c_out.
/// A skipped sub-block contributes zeros, i.e. its channels do not exist, so only the active prefix is computed.
/// </summary>
public sealed class UnifiedBlock : nn.Module
{
    private readonly Conv2d expand;
    private readonly BatchNorm2d expand_bn;
    // dw[j * K + k]: depthwise conv of kernel option k for sub-block j; dw_bn likewise.
    private readonly ModuleList<Conv2d> dw;
    private readonly ModuleList<BatchNorm2d> dw_bn;
    private readonly Conv2d project;
    private readonly ShadowBatchNorm sbn;

    private readonly LayerGeometry _g;
    private readonly IReadOnlyList<int> _kernels;
    private readonly int _subBlocks, _minExpansion;

    /// <summary>Builds the block for one layer of a preset.</summary>
    public UnifiedBlock(LayerGeometry g, SearchSpacePreset preset) : base(nameof(UnifiedBlock))
    {
        _g = g; _kernels = preset.Kernels; _subBlocks = preset.MaxExpansion; _minExpansion = preset.MinExpansion;
        int c = g.InChannels, wide = c * _subBlocks;
        expand = nn.Conv2d(c, wide, 1, bias: false);
        expand_bn = nn.BatchNorm2d(wide);
        dw = new ModuleList<Conv2d>();
        dw_bn = new ModuleList<BatchNorm2d>();
        for (int j = 0; j < _subBlocks; j++)
            foreach (var k in _kernels)
            {
                dw.Add(nn.Conv2d(c, c, k, stride: g.Stride, padding: k / 2, groups: c, bias: false));
                dw_bn.Add(nn.BatchNorm2d(c));
            }
        project = nn.Conv2d(wide, g.OutChannels, 1, bias: false);
        sbn = new ShadowBatchNorm(g.OutChannels, _minExpansion, _subBlocks);
        RegisterComponents();
    }

    /// <summary>Shapes of this block.</summary>
    public LayerGeometry Geometry => _g;

    /// <summary>The expanding conv (e_max·c_in outputs) and its BN.</summary>
    public (Conv2d Conv, BatchNorm2d Bn) ExpandConvBn => (expand, expand_bn);

    /// <summary>The projecting conv (e_max·c_in inputs).</summary>
    public Conv2d ProjectConv => project;

    /// <summary>The shadow BNs of this block.</summary>
    public ShadowBatchNorm ShadowBN => sbn;

    /// <summary>The depthwise conv and BN of kernel option <paramref name="option"/> in sub-block <paramref name="subBlock"/>.</summary>
    public (Conv2d Conv, BatchNorm2d Bn) Depthwise(int subBlock, int option) =>
        (dw[subBlock * _kernels.Count + option], dw_bn[subBlock * _kernels.Count + option]);

    /// <summary>
    /// Single-path forward: sub-block j uses kernel <c>choice.Kernels[j]</c> for j &lt; e; the rest skip.
    /// Only the active e·c_in channels are expanded and projected.
    /// </summary>
    /// <remarks>
    /// The per-sub-block depthwise BNs and ReLU6 run as one batch norm and one activation over the concatenated
    /// groups (their parameters and running statistics concatenated, the updated statistics copied back), as a
    /// standalone <see cref="ChildNetwork"/> block does: per-channel BN is the same either way, and the step then
    /// has as many parallel operations as the standalone network, which matters on a busy multi-core CPU where each
    /// parallel operation waits for all its threads. BNs with cumulative averaging (momentum null), differing
    /// settings or a mode other than the block's take the per-group path, which keeps their own semantics exact.
    /// </remarks>
    public Tensor Forward(Tensor x, LayerChoice choice)
    {
        int c = _g.InChannels, e = choice.Expansion, active = e * c;
        bool training = this.training;
        var h = ChannelsLast.Pointwise(x, expand.weight!.narrow(0, 0, active));
        h = BatchNormDispatch.Functional(h, expand_bn.running_mean!.narrow(0, 0, active), expand_bn.running_var!.narrow(0, 0, active),
            expand_bn.weight!.narrow(0, 0, active), expand_bn.bias!.narrow(0, 0, active), training, expand_bn.momentum ?? 0.1, expand_bn.eps);
        h = F.relu6(h);
        var convModules = new Conv2d[e];
        var bns = new BatchNorm2d[e];
        for (int j = 0; j < e; j++)
            (convModules[j], bns[j]) = Depthwise(j, Architecture.IndexOfKernel(_kernels, choice.Kernels[j]));
        // The active groups' depthwise outputs, concatenated (one merged conv where that is faster).
        var cat = MixedDepthwise.Forward(h, convModules, _g.Stride);
        bool fused = bns.All(b => b.momentum is not null && b.momentum == bns[0].momentum && b.eps == bns[0].eps && b.training == training);
        Tensor dw;
        if (fused)
        {
            var runningMean = torch.cat(bns.Select(b => b.running_mean!).ToArray());
            var runningVar = torch.cat(bns.Select(b => b.running_var!).ToArray());
            dw = BatchNormDispatch.Functional(cat, runningMean, runningVar, torch.cat(bns.Select(b => (Tensor)b.weight!).ToArray()),
                torch.cat(bns.Select(b => (Tensor)b.bias!).ToArray()), training, bns[0].momentum!.Value, bns[0].eps);
            if (training)
                using (torch.no_grad())
                    for (int j = 0; j < e; j++)
                    {
                        bns[j].running_mean!.copy_(runningMean.narrow(0, j * c, c));
                        bns[j].running_var!.copy_(runningVar.narrow(0, j * c, c));
                        if (bns[j].num_batches_tracked is { } count) HeldScalars.Increment(count);
                    }
            dw = F.relu6(dw);
        }
        else
        {
            var outs = new Tensor[e];
            for (int j = 0; j < e; j++) outs[j] = F.relu6(Bn(bns[j], cat.narrow(1, (long)j * c, c)));
            dw = e == 1 ? outs[0] : torch.cat(outs, 1);
        }
        var y = ChannelsLast.Pointwise(dw, project.weight!.narrow(1, 0, active));
        y = sbn.Forward(y, e);
        return _g.HasResidual ? y + x : y;
    }

    /// <summary>
    /// Relaxed forward (SGNAS Eq. 2 inside the block): sub-block j outputs Σ_k m[j,k] · DW_{j,k}(x_j), with skip
    /// contributing zero; the shadow BNs are mixed by p(e), the probability that e sub-blocks are active when
    /// sub-block j is active with probability 1 − m_skip[j]. The expansion rate is the number of non-skip sub-blocks,
    /// as in Eq. 9's skip fraction and in the generator's decoding, so all three agree for one-hot weights.
    /// </summary>
    /// <param name="x">Input [N, c_in, H, W].</param>
    /// <param name="m">Weights of this layer, [e_max, options] (options = kernels then skip).</param>
    public Tensor ForwardRelaxed(Tensor x, Tensor m)
    {
        int K = _kernels.Count;
        var h = F.relu6(Bn(expand_bn, ChannelsLast.Pointwise(expand, x)));
        var mixed = !training && FuseRelaxedDepthwise ? MixDepthwiseFolded(h, m) : MixDepthwise(h, m);
        var y = ChannelsLast.Pointwise(project, mixed);
        y = sbn.ForwardRelaxed(y, RateProbabilities(m.select(1, K), _minExpansion, _subBlocks));
        return _g.HasResidual ? y + x : y;
    }

    /// <summary>
    /// Whether <see cref="ForwardRelaxed"/> on a block in eval mode (the frozen supernet of generator training) mixes
    /// the depthwise options with one depthwise conv per kernel size over all sub-blocks, BN folded into it, instead of
    /// e_max·K convs and BNs. Equal up to float rounding; off (<c>SGNAS_FUSED_RELAXED=0</c>) only to compare the two.
    /// </summary>
    internal static bool FuseRelaxedDepthwise { get; set; } = Environment.GetEnvironmentVariable("SGNAS_FUSED_RELAXED") != "0";

    // Σ_k m[j,k] · ReLU6(BN_{j,k}(DW_{j,k}(h_j))) for every sub-block j, one conv and one BN per (j, k).
    private Tensor MixDepthwise(Tensor h, Tensor m)
    {
        int c = _g.InChannels, K = _kernels.Count;
        var groups = h.split(c, dim: 1);
        var outs = new Tensor[_subBlocks];
        for (int j = 0; j < _subBlocks; j++)
        {
            Tensor? s = null;
            for (int k = 0; k < K; k++)
            {
                var (conv, bn) = Depthwise(j, k);
                var t = F.relu6(Bn(bn, conv.call(groups[j]))) * m[j, k];
                s = s is null ? t : s + t;
            }
            outs[j] = s!;
        }
        return torch.cat(outs, 1);
    }

    // The same sum with the BNs in eval mode: BN_{j,k} is then the per-channel affine map a·z + b with
    // a = γ/√(σ² + ε), b = β − μ·a, so BN(DW(h_j)) = conv(h_j, a·W) + b. The convs of one kernel size k over all
    // sub-blocks are one depthwise conv over h (groups e_max·c_in), which turns 3·e_max·K small ops per layer into
    // about 4·K (docs/performance.md).
    private Tensor MixDepthwiseFolded(Tensor h, Tensor m)
    {
        int c = _g.InChannels, K = _kernels.Count;
        Tensor? mixed = null;
        for (int k = 0; k < K; k++)
        {
            // Option k of every sub-block, stacked in sub-block order (the channel order of h), then folded at once.
            var options = Enumerable.Range(0, _subBlocks).Select(j => Depthwise(j, k)).ToArray();
            Tensor Stack(Func<(Conv2d Conv, BatchNorm2d Bn), Tensor> part) => torch.cat(options.Select(part).ToArray());
            var eps = torch.tensor(options.SelectMany(o => Enumerable.Repeat((float)o.Bn.eps, c)).ToArray(), device: h.device);
            var a = Stack(o => o.Bn.weight!) / (Stack(o => o.Bn.running_var!) + eps).sqrt();
            var weight = Stack(o => o.Conv.weight!) * a.view(-1, 1, 1, 1);
            var bias = Stack(o => o.Bn.bias!) - Stack(o => o.Bn.running_mean!) * a;
            int ks = _kernels[k];
            var t = F.relu6(F.conv2d(h, weight, bias, strides: new long[] { _g.Stride, _g.Stride },
                padding: new long[] { ks / 2, ks / 2 }, groups: _subBlocks * c));
            var w = m.select(1, k).repeat_interleave(c).view(1, -1, 1, 1);
            mixed = mixed is null ? t * w : mixed + t * w;
        }
        return mixed!;
    }

    /// <summary>
    /// Positional single-path forward: sub-block j takes option <c>options[j]</c> (a kernel index, or skip), wherever
    /// the skips are. Only the active groups' channels reach the projecting conv, and the shadow BN is the one of the
    /// number of active sub-blocks, so this is <see cref="ForwardRelaxed"/> with the one-hot weights of
    /// <paramref name="options"/> (docs/generator.md). A prefix path (no skip before an active sub-block) is the
    /// trained single path of <see cref="Forward"/>, with kernels in position order.
    /// </summary>
    /// <param name="x">Input [N, c_in, H, W].</param>
    /// <param name="options">Option per sub-block (length e_max): kernel index into the preset's kernels or skip.</param>
    public Tensor ForwardPath(Tensor x, ReadOnlySpan<int> options)
    {
        if (options.Length != _subBlocks)
            throw new ArgumentException($"a path layer has {_subBlocks} sub-block options; got {options.Length}.", nameof(options));
        int K = _kernels.Count, c = _g.InChannels;
        var active = new List<int>(_subBlocks);
        var kernels = new List<int>(_subBlocks);
        bool prefix = true;
        for (int j = 0; j < _subBlocks; j++)
        {
            if (options[j] < 0 || options[j] > K)
                throw new ArgumentException($"sub-block {j}: option {options[j]} is outside 0..{K}.", nameof(options));
            if (options[j] == K) continue;
            if (active.Count != j) prefix = false;
            active.Add(j);
            kernels.Add(_kernels[options[j]]);
        }
        if (active.Count < _minExpansion || active.Count < 1)
            throw new ArgumentException($"{active.Count} active sub-blocks; at least {_minExpansion} are required.", nameof(options));
        if (prefix) return Forward(x, new LayerChoice(kernels));

        // A skip in the middle: the expand conv and its BN are per output channel, so computing them at full width and
        // keeping the active groups gives exactly the active channels (in train mode the skipped groups' statistics
        // also move; they are not on this path, and BN recalibration resets them before the next candidate).
        var h = F.relu6(Bn(expand_bn, ChannelsLast.Pointwise(expand, x)));
        var groups = ChannelsLast.SplitChannels(h, c);
        var outs = new Tensor[active.Count];
        for (int n = 0; n < active.Count; n++)
        {
            var (conv, bn) = Depthwise(active[n], options[active[n]]);
            outs[n] = F.relu6(Bn(bn, conv.call(groups[active[n]])));
        }
        using var columns = torch.tensor(active.SelectMany(j => Enumerable.Range(j * c, c)).Select(i => (long)i).ToArray(), device: x.device);
        var y = ChannelsLast.Pointwise(torch.cat(outs, 1), project.weight!.index_select(1, columns));
        y = sbn.Forward(y, active.Count);
        return _g.HasResidual ? y + x : y;
    }

    /// <summary>
    /// p(e) for e = minExpansion..maxExpansion: the distribution of the number of active sub-blocks (Poisson
    /// binomial over 1 − m_skip[j]), built by the recurrence P_j(n) = P_{j−1}(n)·m_skip[j] + P_{j−1}(n−1)·(1 − m_skip[j]).
    /// Differentiable in the skip weights.
    /// </summary>
    public static Tensor RateProbabilities(Tensor skip, int minExpansion, int maxExpansion)
    {
        int s = (int)skip.shape[0];
        var zero = torch.zeros(1, dtype: skip.dtype, device: skip.device).squeeze();
        var dist = new List<Tensor> { torch.ones(1, dtype: skip.dtype, device: skip.device).squeeze() };
        for (int j = 0; j < s; j++)
        {
            var active = 1 - skip[j];
            var next = new List<Tensor>(dist.Count + 1);
            for (int n = 0; n <= dist.Count; n++)
            {
                var stay = n < dist.Count ? dist[n] * skip[j] : zero;
                var grow = n > 0 ? dist[n - 1] * active : zero;
                next.Add(stay + grow);
            }
            dist = next;
        }
        return torch.stack(dist.Skip(minExpansion).Take(maxExpansion - minExpansion + 1).ToArray());
    }

    /// <summary>Number of parameters of this block.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}
