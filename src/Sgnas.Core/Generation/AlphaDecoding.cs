using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Generation;

/// <summary>
/// Discretises a generated α map [L, e_max, options] the way the reference code does (<c>decode_arch_param</c>):
/// per sub-block the argmax option (skip excluded for the first <c>MinExpansion</c> sub-blocks, as in
/// <see cref="GumbelSoftmax"/>'s mask); a layer's expansion rate is the number of sub-blocks whose argmax is not
/// skip, its kernels are theirs (canonical order).
/// <para>
/// Why not <see cref="Architecture.FromAlpha"/>: its prefix rule stops at the first skip, dropping kernels chosen
/// after an interior skip, so the decoded network costs less than Eq. 9 of the argmax map the generator was trained
/// to fit (a systematic under-shoot of the target, measured at 10% relative error on fashion-small). Eq. 9 depends
/// only on how many sub-blocks skip and which kernels the others use, so with this decoding the decoded architecture
/// costs exactly Eq. 9 of the argmax one-hot map; the derived network (an expansion rate and its kernels) is
/// defined by the same multiset under forced sampling.
/// </para>
/// </summary>
public static class AlphaDecoding
{
    /// <summary>Argmax option per sub-block, flattened [L, e_max] (skip excluded where forced sampling forbids it).</summary>
    public static int[] ArgMaxOptions(SearchSpacePreset preset, ReadOnlySpan<float> alpha)
    {
        int L = preset.LayerCount, S = preset.MaxExpansion, O = preset.OptionCount;
        if (alpha.Length != L * S * O)
            throw new ArgumentException($"α map has {alpha.Length} values; preset '{preset.Name}' needs {L}×{S}×{O}.", nameof(alpha));
        var options = new int[L * S];
        for (int i = 0; i < L; i++)
            for (int j = 0; j < S; j++)
                options[i * S + j] = ForcedSampling.ArgMax(alpha.Slice((i * S + j) * O, O), ForcedSampling.SkipAllowed(preset, j), preset.SkipIndex);
        return options;
    }

    /// <summary>The architecture of per-sub-block options [L, e_max]: the non-skip kernels of each layer, canonical.</summary>
    public static Architecture FromOptions(SearchSpacePreset preset, ReadOnlySpan<int> options)
    {
        int L = preset.LayerCount, S = preset.MaxExpansion;
        var layers = new LayerChoice[L];
        for (int i = 0; i < L; i++)
        {
            var ks = new List<int>(S);
            for (int j = 0; j < S; j++)
            {
                int o = options[i * S + j];
                if (o != preset.SkipIndex) ks.Add(preset.Kernels[o]);
            }
            layers[i] = new LayerChoice(ks).Canonical();
        }
        return new Architecture(layers);
    }

    /// <summary>
    /// The positional supernet path of α: the argmax option of every sub-block, in place (<see cref="ArgMaxOptions"/>).
    /// Its one-hot map is the argmax one-hot of α, so the supernet's relaxed forward with that map computes exactly
    /// this path; its <see cref="SupernetPath.ToArchitecture"/> is <see cref="Decode"/>. Candidates generated from α are
    /// scored on this path (docs/generator.md).
    /// </summary>
    public static SupernetPath DecodePath(SearchSpacePreset preset, ReadOnlySpan<float> alpha) =>
        SupernetPath.FromOptions(preset, ArgMaxOptions(preset, alpha));

    /// <summary>Decodes α: <see cref="FromOptions"/> of <see cref="ArgMaxOptions"/>.</summary>
    public static Architecture Decode(SearchSpacePreset preset, ReadOnlySpan<float> alpha) =>
        FromOptions(preset, ArgMaxOptions(preset, alpha));
}
