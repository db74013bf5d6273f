using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Generator;

/// <summary>
/// Hard FLOPs limit for generated architectures (an addition to the paper, whose generator only aims at the target):
/// if the decoded architecture costs more than the target, apply single-layer reductions until it fits, each time
/// the one that loses the least generator score per M FLOPs saved. The score of an architecture under α is
/// Σ_layers Σ_sub-blocks α[l, j, option(l, j)] (option = the sub-block's kernel, or skip beyond the expansion
/// rate), the logit sum the argmax decoding maximises. Reductions: drop the last active sub-block (expansion − 1,
/// not below <c>MinExpansion</c>) or give one active sub-block a smaller kernel. Since the smallest architecture
/// of the space is reachable by such steps, any target ≥ the space's minimum FLOPs is met.
/// </summary>
public static class HardLimit
{
    /// <summary>
    /// Decodes one α map [L, e_max, options] (argmax under forced sampling, sub-block order kept) and repairs it to
    /// cost at most <paramref name="targetM"/>. Returns the canonical architecture and whether a repair was needed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The target is below the smallest architecture's FLOPs.</exception>
    public static (Architecture Architecture, bool Repaired) Apply(SearchSpacePreset preset, FlopsLookupTable table, ReadOnlySpan<float> alpha, double targetM)
    {
        int L = preset.LayerCount, S = preset.MaxExpansion, O = preset.OptionCount, skip = preset.SkipIndex;
        if (alpha.Length != L * S * O) throw new ArgumentException($"α map has {alpha.Length} values; preset '{preset.Name}' needs {L}×{S}×{O}.");
        double min = table.CostM(Architecture.Smallest(preset));
        if (targetM < min - 1e-9)
            throw new ArgumentOutOfRangeException(nameof(targetM), targetM, $"no architecture of '{preset.Name}' costs at most {targetM} M; the minimum is {min:F4} M.");
        // Option index per active sub-block, in sub-block order.
        var opts = new List<int>[L];
        for (int i = 0; i < L; i++)
        {
            opts[i] = new List<int>(S);
            for (int j = 0; j < S; j++)
            {
                int best = ForcedSampling.ArgMax(alpha.Slice((i * S + j) * O, O), allowSkip: j >= preset.MinExpansion, skip);
                if (best == skip) break;
                opts[i].Add(best);
            }
        }
        double cost = table.CostM(Build(preset, opts));
        bool repaired = false;
        while (cost > targetM)
        {
            double bestRatio = double.PositiveInfinity, bestCost = cost;
            int bestLayer = -1, bestSub = -1, bestOpt = -1; // bestOpt −1 = drop the last sub-block
            for (int i = 0; i < L; i++)
            {
                var layer = opts[i];
                int e = layer.Count;
                if (e > preset.MinExpansion)
                {
                    int j = e - 1, o = layer[j];
                    double loss = A(alpha, i, j, o, S, O) - A(alpha, i, j, skip, S, O);
                    layer.RemoveAt(j);
                    Consider(i, j, -1, loss);
                    layer.Add(o);
                }
                for (int j = 0; j < e; j++)
                {
                    int o = layer[j];
                    for (int k = 0; k < preset.Kernels.Count; k++)
                    {
                        if (preset.Kernels[k] >= preset.Kernels[o]) continue;
                        double loss = A(alpha, i, j, o, S, O) - A(alpha, i, j, k, S, O);
                        layer[j] = k;
                        Consider(i, j, k, loss);
                        layer[j] = o;
                    }
                }
            }
            if (bestLayer < 0) throw new InvalidOperationException("hard-limit repair found no reduction although the target is feasible.");
            if (bestOpt < 0) opts[bestLayer].RemoveAt(bestSub); else opts[bestLayer][bestSub] = bestOpt;
            cost = bestCost;
            repaired = true;

            void Consider(int i, int j, int k, double scoreLoss)
            {
                double c = table.CostM(Build(preset, opts));
                double saved = cost - c;
                if (saved <= 0) return;
                double ratio = scoreLoss / saved;
                if (ratio < bestRatio) { bestRatio = ratio; bestLayer = i; bestSub = j; bestOpt = k; bestCost = c; }
            }
        }
        return (Build(preset, opts).Canonical(), repaired);
    }

    private static double A(ReadOnlySpan<float> alpha, int i, int j, int o, int S, int O) => alpha[(i * S + j) * O + o];

    private static Architecture Build(SearchSpacePreset p, List<int>[] opts) =>
        new(opts.Select(l => new LayerChoice(l.Select(o => p.Kernels[o]))));
}
