using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Cost;

/// <summary>
/// The lookup-table cost model of SGNAS Eq. 9 (docs/design.md §3). FLOPs are multiply-accumulates of
/// convolutions, out_elements × k_h·k_w × c_in / groups, at the preset's input size; BN, activations and the FC
/// are not counted (docs/design.md §2).
/// <para>
/// Cost(m) = Σ_layers [ Σ_sub-blocks Σ_k m_k · DW(k) + (1 − skipFraction) · (PW1 + PW2) ] + fixed,
/// skipFraction = Σ_sub-blocks m_skip / e_max. Differentiable in m and exact for one-hot m.
/// </para>
/// </summary>
public sealed class FlopsLookupTable
{
    /// <summary>The preset the table was built for.</summary>
    public SearchSpacePreset Preset { get; }
    /// <summary>MACs of the stem, the fixed first block and the head conv (in MACs, not M).</summary>
    public double FixedMacs { get; }
    /// <summary>Per layer, per option: MACs of one sub-block's depthwise conv (0 for skip).</summary>
    public double[,] DepthwiseMacs { get; }
    /// <summary>Per layer: MACs of both pointwise convs at full width e_max (PW1 + PW2).</summary>
    public double[] PointwiseMacs { get; }

    /// <summary>Builds the table from the preset's geometry.</summary>
    public FlopsLookupTable(SearchSpacePreset preset)
    {
        Preset = preset;
        int s0 = preset.StemOutputSize;
        double stem = (double)s0 * s0 * 9 * preset.InputChannels * preset.StemChannels;
        double firstDw = (double)s0 * s0 * 9 * preset.StemChannels;
        double firstPw = (double)s0 * s0 * preset.StemChannels * preset.FirstBlockChannels;
        var geo = preset.Geometry();
        double head = (double)preset.FinalSize * preset.FinalSize * geo[^1].OutChannels * preset.HeadChannels;
        FixedMacs = stem + firstDw + firstPw + head;

        DepthwiseMacs = new double[geo.Count, preset.OptionCount];
        PointwiseMacs = new double[geo.Count];
        int e = preset.MaxExpansion;
        for (int i = 0; i < geo.Count; i++)
        {
            var g = geo[i];
            double outPix = (double)g.OutSize * g.OutSize, inPix = (double)g.InSize * g.InSize;
            for (int k = 0; k < preset.Kernels.Count; k++)
                DepthwiseMacs[i, k] = outPix * preset.Kernels[k] * preset.Kernels[k] * g.InChannels;
            PointwiseMacs[i] = inPix * g.InChannels * e * g.InChannels + outPix * e * g.InChannels * g.OutChannels;
        }
    }

    /// <summary>Eq. 9 on a flattened weight map [layers, e_max, options] (one-hot or relaxed), in M.</summary>
    public double CostM(ReadOnlySpan<float> m)
    {
        int L = Preset.LayerCount, S = Preset.MaxExpansion, O = Preset.OptionCount;
        if (m.Length != L * S * O) throw new ArgumentException($"Weight map has {m.Length} values; expected {L * S * O}.");
        double total = FixedMacs;
        for (int i = 0; i < L; i++)
        {
            double skip = 0;
            for (int j = 0; j < S; j++)
            {
                var row = m.Slice((i * S + j) * O, O);
                for (int k = 0; k < Preset.Kernels.Count; k++) total += row[k] * DepthwiseMacs[i, k];
                skip += row[Preset.SkipIndex];
            }
            total += (1 - skip / S) * PointwiseMacs[i];
        }
        return total / 1e6;
    }

    /// <summary>Eq. 9 for a discrete architecture, in M (exact).</summary>
    public double CostM(Architecture a) => CostM(a.ToOneHot(Preset));

    /// <summary>
    /// Eq. 9 on a batch of relaxed weights <paramref name="m"/> of shape [B, layers, e_max, options], differentiable,
    /// on <paramref name="m"/>'s device. Returns [B] in M.
    /// </summary>
    public Tensor CostM(Tensor m)
    {
        int L = Preset.LayerCount, S = Preset.MaxExpansion, O = Preset.OptionCount;
        if (m.dim() != 4 || m.shape[1] != L || m.shape[2] != S || m.shape[3] != O)
            throw new ArgumentException($"Relaxed weights must be [B, {L}, {S}, {O}]; got [{string.Join(", ", m.shape)}].");
        using var scope = NewDisposeScope();
        var dwData = new float[L * O];
        var pwData = new float[L];
        for (int i = 0; i < L; i++)
        {
            for (int k = 0; k < O; k++) dwData[i * O + k] = (float)(DepthwiseMacs[i, k] / 1e6);
            pwData[i] = (float)(PointwiseMacs[i] / 1e6);
        }
        var dw = tensor(dwData, new long[] { 1, L, 1, O }, dtype: m.dtype, device: m.device);
        var pw = tensor(pwData, new long[] { 1, L }, dtype: m.dtype, device: m.device);
        var depthwise = (m * dw).sum(new long[] { 1, 2, 3 });
        var skipFraction = m.select(3, Preset.SkipIndex).sum(2) / S;
        var pointwise = ((1 - skipFraction) * pw).sum(1);
        var cost = depthwise + pointwise + FixedMacs / 1e6;
        return cost.MoveToOuterDisposeScope();
    }

    /// <summary>FLOPs in M of the smallest and largest architectures of the space.</summary>
    public (double Min, double Max) Range() => (CostM(Architecture.Smallest(Preset)), CostM(Architecture.Largest(Preset)));

    /// <summary>The generator's constraint interval: the preset's, or the whole feasible range.</summary>
    public (double Low, double High) ConstraintInterval()
    {
        var (min, max) = Range();
        return (Preset.ConstraintLowM ?? min, Preset.ConstraintHighM ?? max);
    }
}
