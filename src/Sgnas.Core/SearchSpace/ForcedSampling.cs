namespace Sgnas.SearchSpace;

/// <summary>
/// The forced-sampling rule (docs/design.md §2; SGNAS paper section 3.1): skip may only occupy the highest-index
/// sub-blocks, and the first <c>MinExpansion</c> sub-blocks never skip. Also counts the space without redundancy.
/// </summary>
public static class ForcedSampling
{
    /// <summary>True if sub-block <paramref name="subBlock"/> may take the skip option.</summary>
    public static bool SkipAllowed(SearchSpacePreset p, int subBlock) => subBlock >= p.MinExpansion;

    /// <summary>Mask of shape [maxExpansion, options]: 1 where the option is allowed for that sub-block.</summary>
    public static float[] OptionMask(SearchSpacePreset p)
    {
        int s = p.MaxExpansion, o = p.OptionCount;
        var m = new float[s * o];
        for (int j = 0; j < s; j++)
            for (int k = 0; k < o; k++)
                m[j * o + k] = k != p.SkipIndex || SkipAllowed(p, j) ? 1f : 0f;
        return m;
    }

    /// <summary>Argmax over one sub-block's options, optionally excluding skip.</summary>
    public static int ArgMax(ReadOnlySpan<float> row, bool allowSkip, int skipIndex)
    {
        int best = -1; float bv = float.NegativeInfinity;
        for (int k = 0; k < row.Length; k++)
        {
            if (k == skipIndex && !allowSkip) continue;
            if (best < 0 || row[k] > bv) { best = k; bv = row[k]; }
        }
        return best;
    }

    /// <summary>
    /// Distinct choices of one layer: Σ over e of the multisets of e kernels, Σ_e C(e+K−1, K−1)
    /// (paper section 4.1: 6+10+15+21+28 = 80 for K = 3, e = 2..6).
    /// </summary>
    public static long ChoicesPerLayer(SearchSpacePreset p)
    {
        long total = 0;
        for (int e = p.MinExpansion; e <= p.MaxExpansion; e++) total += Binomial(e + p.Kernels.Count - 1, p.Kernels.Count - 1);
        return total;
    }

    /// <summary>log10 of the number of architectures (choices per layer to the power of layers).</summary>
    public static double SearchSpaceLog10(SearchSpacePreset p) => p.LayerCount * Math.Log10(ChoicesPerLayer(p));

    /// <summary>Every canonical choice of one layer, ordered by expansion then kernels.</summary>
    public static IEnumerable<LayerChoice> EnumerateLayerChoices(SearchSpacePreset p)
    {
        var ks = p.Kernels.OrderBy(k => k).ToArray();
        for (int e = p.MinExpansion; e <= p.MaxExpansion; e++)
            foreach (var combo in Multisets(ks, e, 0))
                yield return new LayerChoice(combo);
    }

    private static IEnumerable<int[]> Multisets(int[] ks, int size, int start)
    {
        if (size == 0) { yield return Array.Empty<int>(); yield break; }
        for (int i = start; i < ks.Length; i++)
            foreach (var rest in Multisets(ks, size - 1, i))
                yield return new[] { ks[i] }.Concat(rest).ToArray();
    }

    private static long Binomial(int n, int k)
    {
        long r = 1;
        for (int i = 1; i <= k; i++) r = r * (n - k + i) / i;
        return r;
    }
}
