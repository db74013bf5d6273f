using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Cost;

/// <summary>
/// The latency twin of SGNAS Eq. 9 (the FLOPs form is <see cref="FlopsLookupTable"/>; docs/latency.md). For weights
/// m[i, j, k] over the options of sub-block j of layer i (one-hot or relaxed):
/// <para>
/// E[latency](m) = fixed + Σ_i [ Σ_j Σ_k m[i,j,k] · DW_i(k) + Σ_e p_i(e) · PW_i(e) ],
/// </para>
/// where p_i(e) is the distribution of the number of active sub-blocks when sub-block j is active with probability
/// 1 − m[i, j, skip] (a Poisson binomial, <see cref="UnifiedBlock.RateProbabilities"/>, the same distribution the
/// relaxed supernet mixes its shadow BNs with). The depthwise part is linear in m, as in Eq. 9. The pointwise part
/// is an expectation over e rather than Eq. 9's linear (1 − skipFraction) · PW, because latency is not linear in the
/// width (FLOPs are, and for FLOPs the two forms agree). For one-hot m under forced sampling p_i is one-hot at the
/// layer's rate, so the model equals the table sum <see cref="LatencyTable.SumMs"/> exactly. When the table carries
/// a <see cref="LatencyCorrection"/> and <see cref="ApplyCorrection"/> is set, the result is a + b · E[sum], still
/// differentiable.
/// </summary>
public sealed class LatencyCostModel
{
    private readonly double[] _dw;  // [L, O]: DW_i(k) for kernels, 0 for skip
    private readonly double[] _pw;  // [L, E]: PW_i(e) for e = e_min..e_max

    /// <summary>The search space.</summary>
    public SearchSpacePreset Preset { get; }
    /// <summary>The measured table.</summary>
    public LatencyTable Table { get; }
    /// <summary>Whether predictions include the table's correction (when it has one).</summary>
    public bool ApplyCorrection { get; }

    /// <summary>Creates the model; the table must have been measured for <paramref name="preset"/>.</summary>
    /// <exception cref="ArgumentException">The table does not fit the preset.</exception>
    public LatencyCostModel(SearchSpacePreset preset, LatencyTable table, bool applyCorrection = true)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(table);
        table.CheckMatches(preset);
        Preset = preset; Table = table; ApplyCorrection = applyCorrection;
        int L = preset.LayerCount, O = preset.OptionCount, E = preset.MaxExpansion - preset.MinExpansion + 1;
        _dw = new double[L * O];
        _pw = new double[L * E];
        for (int i = 0; i < L; i++)
        {
            for (int k = 0; k < preset.Kernels.Count; k++) _dw[i * O + k] = table.Layers[i].DepthwiseMs[k];
            for (int e = 0; e < E; e++) _pw[i * E + e] = table.Layers[i].PointwiseMs[e];
        }
    }

    /// <summary>Predicted latency of a discrete architecture in ms (the table sum, corrected if so configured).</summary>
    public double PredictMs(Architecture arch) => ApplyCorrection ? Table.PredictMs(arch) : Table.SumMs(arch);

    /// <summary>
    /// Expected latency on a batch of weights <paramref name="m"/> of shape [B, layers, e_max, options], in ms,
    /// differentiable, on <paramref name="m"/>'s device. Returns [B].
    /// </summary>
    public Tensor ExpectedMs(Tensor m)
    {
        ArgumentNullException.ThrowIfNull(m);
        int L = Preset.LayerCount, S = Preset.MaxExpansion, O = Preset.OptionCount, E = S - Preset.MinExpansion + 1;
        if (m.dim() != 4 || m.shape[1] != L || m.shape[2] != S || m.shape[3] != O)
            throw new ArgumentException($"Relaxed weights must be [B, {L}, {S}, {O}]; got [{string.Join(", ", m.shape)}].");
        using var scope = NewDisposeScope();
        var dw = tensor(_dw, new long[] { 1, L, 1, O }, dtype: float64).to(m.dtype, m.device);
        var pw = tensor(_pw, new long[] { L, E }, dtype: float64).t().unsqueeze(1).to(m.dtype, m.device);
        var depthwise = (m * dw).sum(new long[] { 1, 2, 3 });
        // RateProbabilities walks the sub-blocks along dim 0 and broadcasts over the rest: skip [S, B, L] -> p [E, B, L].
        var skip = m.select(3, Preset.SkipIndex).permute(2, 0, 1);
        var p = UnifiedBlock.RateProbabilities(skip, Preset.MinExpansion, S);
        var pointwise = (p * pw).sum(new long[] { 0, 2 });
        var total = depthwise + pointwise + Table.FixedMs;
        if (ApplyCorrection && Table.Correction is { } c) total = total * c.Slope + c.Intercept;
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>Expected latency of one flattened weight map [layers, e_max, options], in ms.</summary>
    public double ExpectedMs(ReadOnlySpan<float> m)
    {
        int n = Preset.LayerCount * Preset.MaxExpansion * Preset.OptionCount;
        if (m.Length != n) throw new ArgumentException($"Weight map has {m.Length} values; expected {n}.");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var t = tensor(m.ToArray(), new long[] { 1, Preset.LayerCount, Preset.MaxExpansion, Preset.OptionCount }, dtype: float64);
        return ExpectedMs(t).item<double>();
    }

    /// <summary>
    /// The lowest and highest predicted latency over the whole space, ms. A measured table need not be monotone (a
    /// k7 may time faster than a k5, a wider block faster than a narrower one, by noise or by the runtime's kernels),
    /// so the extremes are not always the smallest and largest architectures. The sum is additive over layers and
    /// each active sub-block picks its kernel on its own, so per layer the extreme is
    /// min/max over e of PW_i(e) + e · min/max_k DW_i(k); the correction has a positive slope and keeps the order.
    /// </summary>
    public (double Min, double Max) Range()
    {
        var (lo, hi) = (Table.SumMs(Extreme(cheapest: true)), Table.SumMs(Extreme(cheapest: false)));
        return ApplyCorrection && Table.Correction is { } c ? (c.Apply(lo), c.Apply(hi)) : (lo, hi);
    }

    /// <summary>
    /// The architecture of the lowest predicted latency (<see cref="Range"/>'s minimum): per layer the rate e and the
    /// single kernel that minimise PW_i(e) + e · DW_i(k). The floor a latency repair works down to.
    /// </summary>
    public Architecture Cheapest() => Extreme(cheapest: true);

    // Per layer the rate and one kernel for all its sub-blocks that make PW_i(e) + e·DW_i(k) smallest (or largest).
    private Architecture Extreme(bool cheapest)
    {
        int O = Preset.OptionCount, K = Preset.Kernels.Count, E = Preset.MaxExpansion - Preset.MinExpansion + 1;
        var layers = new LayerChoice[Preset.LayerCount];
        for (int i = 0; i < Preset.LayerCount; i++)
        {
            int kBest = 0;
            for (int k = 1; k < K; k++)
                if (cheapest ? _dw[i * O + k] < _dw[i * O + kBest] : _dw[i * O + k] > _dw[i * O + kBest]) kBest = k;
            int eBest = 0;
            double Layer(int e) => _pw[i * E + e] + (Preset.MinExpansion + e) * _dw[i * O + kBest];
            for (int e = 1; e < E; e++)
                if (cheapest ? Layer(e) < Layer(eBest) : Layer(e) > Layer(eBest)) eBest = e;
            layers[i] = new LayerChoice(Enumerable.Repeat(Preset.Kernels[kBest], Preset.MinExpansion + eBest));
        }
        return new Architecture(layers);
    }
}
