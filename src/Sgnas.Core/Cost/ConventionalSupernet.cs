using Sgnas.Modules;
using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>One candidate block of a conventional single-path supernet: an MBConv with its own weights.</summary>
/// <param name="Expansion">Expansion rate t (t = 1 has no expanding conv, as in MobileNetV2).</param>
/// <param name="Kernel">Depthwise kernel size.</param>
public sealed record MbConvCandidate(int Expansion, int Kernel);

/// <summary>
/// Parameter count of a conventional single-path supernet (separate blocks per candidate, as in SPOS/FBNet)
/// on the same macro-architecture as a unified supernet: SGNAS paper Fig. 6b.
/// </summary>
public static class ConventionalSupernet
{
    /// <summary>6 candidates: kernels {3,5,7} × expansion {3,6}.</summary>
    public static IReadOnlyList<MbConvCandidate> SixCandidates { get; } =
        (from t in new[] { 3, 6 } from k in new[] { 3, 5, 7 } select new MbConvCandidate(t, k)).ToArray();

    /// <summary>13 candidates: kernels {3,5,7} × expansion {1,2,3,6} plus a parameter-free skip (identity) block.</summary>
    public static IReadOnlyList<MbConvCandidate?> ThirteenCandidates { get; } =
        (from t in new[] { 1, 2, 3, 6 } from k in new[] { 3, 5, 7 } select (MbConvCandidate?)new MbConvCandidate(t, k))
        .Append(null).ToArray();

    /// <summary>
    /// Parameters of one MBConv candidate: expand c·tc + BN 2tc (t &gt; 1), depthwise tc·k² + BN 2tc,
    /// project tc·c_out + BN 2c_out. A null candidate is skip and has none.
    /// </summary>
    public static long BlockParameters(LayerGeometry g, MbConvCandidate? cand)
    {
        if (cand is null) return 0;
        long c = g.InChannels, tc = c * cand.Expansion, o = g.OutChannels;
        long expand = cand.Expansion > 1 ? c * tc + 2 * tc : 0;
        return expand + tc * cand.Kernel * cand.Kernel + 2 * tc + tc * o + 2 * o;
    }

    /// <summary>Total parameters: the shared stem and head plus every candidate of every layer.</summary>
    public static long Parameters(SearchSpacePreset preset, IEnumerable<MbConvCandidate?> candidates)
    {
        var list = candidates.ToList();
        using var stem = new Stem(preset);
        using var head = new Head(preset);
        long fixedParams = stem.parameters().Sum(p => p.numel()) + head.parameters().Sum(p => p.numel());
        return fixedParams + preset.Geometry().Sum(g => list.Sum(c => BlockParameters(g, c)));
    }
}
