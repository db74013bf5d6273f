using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Modules;

/// <summary>
/// The unified block of SGNAS (paper section 3.3, DESIGN.md section 2): a pointwise conv expands c_in to
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
        var h = F.conv2d(x, expand.weight!.narrow(0, 0, active));
        h = F.batch_norm(h, expand_bn.running_mean!.narrow(0, 0, active), expand_bn.running_var!.narrow(0, 0, active),
            expand_bn.weight!.narrow(0, 0, active), expand_bn.bias!.narrow(0, 0, active), training, expand_bn.momentum ?? 0.1, expand_bn.eps);
        h = F.relu6(h);
        var groups = h.split(c, dim: 1);
        var convs = new Tensor[e];
        var bns = new BatchNorm2d[e];
        for (int j = 0; j < e; j++)
        {
            int opt = Architecture.IndexOfKernel(_kernels, choice.Kernels[j]);
            var (conv, bn) = Depthwise(j, opt);
            convs[j] = conv.call(groups[j]);
            bns[j] = bn;
        }
        bool fused = bns.All(b => b.momentum is not null && b.momentum == bns[0].momentum && b.eps == bns[0].eps && b.training == training);
        Tensor dw;
        if (fused)
        {
            var cat = e == 1 ? convs[0] : torch.cat(convs, 1);
            var runningMean = torch.cat(bns.Select(b => b.running_mean!).ToArray());
            var runningVar = torch.cat(bns.Select(b => b.running_var!).ToArray());
            dw = F.batch_norm(cat, runningMean, runningVar, torch.cat(bns.Select(b => (Tensor)b.weight!).ToArray()),
                torch.cat(bns.Select(b => (Tensor)b.bias!).ToArray()), training, bns[0].momentum!.Value, bns[0].eps);
            if (training)
                using (torch.no_grad())
                    for (int j = 0; j < e; j++)
                    {
                        bns[j].running_mean!.copy_(runningMean.narrow(0, j * c, c));
                        bns[j].running_var!.copy_(runningVar.narrow(0, j * c, c));
                        bns[j].num_batches_tracked?.add_(1);
                    }
            dw = F.relu6(dw);
        }
        else
        {
            var outs = new Tensor[e];
            for (int j = 0; j < e; j++) outs[j] = F.relu6(bns[j].call(convs[j]));
            dw = e == 1 ? outs[0] : torch.cat(outs, 1);
        }
        var y = F.conv2d(dw, project.weight!.narrow(1, 0, active));
        y = sbn.Forward(y, e);
        return _g.HasResidual ? y + x : y;
    }

    /// <summary>
    /// Relaxed forward (SGNAS Eq. 2 inside the block): sub-block j outputs Σ_k m[j,k] · DW_{j,k}(x_j), with skip
    /// contributing zero; the shadow BNs are mixed by the probability of each expansion rate implied by the skip
    /// weights under forced sampling, p(e) = Π_{j&lt;e}(1 − m_skip[j]) · m_skip[e] (and Π_j(1 − m_skip[j]) for e_max).
    /// </summary>
    /// <param name="x">Input [N, c_in, H, W].</param>
    /// <param name="m">Weights of this layer, [e_max, options] (options = kernels then skip).</param>
    public Tensor ForwardRelaxed(Tensor x, Tensor m)
    {
        int c = _g.InChannels, K = _kernels.Count;
        var h = F.relu6(expand_bn.call(expand.call(x)));
        var groups = h.split(c, dim: 1);
        var outs = new Tensor[_subBlocks];
        for (int j = 0; j < _subBlocks; j++)
        {
            Tensor? s = null;
            for (int k = 0; k < K; k++)
            {
                var (conv, bn) = Depthwise(j, k);
                var t = F.relu6(bn.call(conv.call(groups[j]))) * m[j, k];
                s = s is null ? t : s + t;
            }
            outs[j] = s!;
        }
        var y = project.call(torch.cat(outs, 1));
        y = sbn.ForwardRelaxed(y, RateProbabilities(m.select(1, K), _minExpansion, _subBlocks));
        return _g.HasResidual ? y + x : y;
    }

    /// <summary>p(e) for e = minExpansion..maxExpansion from per-sub-block skip weights (forced sampling).</summary>
    public static Tensor RateProbabilities(Tensor skip, int minExpansion, int maxExpansion)
    {
        var probs = new List<Tensor>();
        Tensor alive = torch.ones(1, dtype: skip.dtype, device: skip.device).squeeze();
        // Sub-blocks below minExpansion never skip: the chain starts alive at minExpansion.
        for (int e = minExpansion; e < maxExpansion; e++)
        {
            probs.Add(alive * skip[e]);
            alive = alive * (1 - skip[e]);
        }
        probs.Add(alive);
        return torch.stack(probs);
    }

    /// <summary>Number of parameters of this block.</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}
