using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Generation;

/// <summary>
/// Hard FLOPs limit for generated architectures (an addition to the paper, whose generator only aims at the target):
/// if the decoded architecture (<see cref="AlphaDecoding"/>) costs more than the target, apply single-sub-block
/// reductions until it fits, each time the one that loses the least generator score per M FLOPs saved. The score
/// of a per-sub-block option assignment under α is Σ_layers Σ_sub-blocks α[l, j, option(l, j)], the logit sum the
/// argmax decoding maximises. Reductions: turn one active sub-block into skip (only where forced sampling allows
/// skip, so the expansion rate never drops below <c>MinExpansion</c>), or give one active sub-block a smaller
/// kernel. The smallest architecture of the space is reachable by such steps, so any target ≥ its FLOPs is met.
/// <para>
/// For a latency budget (<see cref="ApplyPath(SearchSpacePreset, ConstraintCost, ReadOnlySpan{float}, double)"/>)
/// the same rule runs on the table's prediction in ms. Latency is not additive per sub-block (skipping one changes
/// the layer's rate, hence its pointwise term PW_i(e), docs/latency.md), so each candidate reduction's saving is the
/// exact difference of the predicted latencies before and after it. A measured table need not be monotone in e; if
/// no single reduction lowers the prediction while it is still over budget, the repair falls back to the cheapest
/// architecture (<see cref="ConstraintCost.Cheapest"/>, not always the smallest), whose cost the budget was checked against.
/// </para>
/// </summary>
public static class HardLimit
{
    /// <summary>
    /// Decodes one α map and repairs it to cost at most <paramref name="target"/> in <paramref name="cost"/>'s unit
    /// (FLOPs: exactly <see cref="ApplyPath(SearchSpacePreset, FlopsLookupTable, ReadOnlySpan{float}, double)"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The target is below the smallest architecture's cost.</exception>
    public static (SupernetPath Path, bool Repaired) ApplyPath(SearchSpacePreset preset, ConstraintCost cost, ReadOnlySpan<float> alpha, double target)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(cost);
        if (cost.FlopsTable is { } flops) return ApplyPath(preset, flops, alpha, target);
        int L = preset.LayerCount, S = preset.MaxExpansion, O = preset.OptionCount, skip = preset.SkipIndex;
        var opts = AlphaDecoding.ArgMaxOptions(preset, alpha);
        var smallest = cost.Cheapest();
        double min = cost.Of(smallest);
        if (target < min - 1e-9)
            throw new ArgumentOutOfRangeException(nameof(target), target, $"no architecture of '{preset.Name}' costs at most {target} {cost.Unit}; the cheapest costs {min:F4} {cost.Unit}.");
        double current = cost.Of(AlphaDecoding.FromOptions(preset, opts));
        bool repaired = false;
        while (current > target)
        {
            double bestRatio = double.PositiveInfinity, bestCost = current;
            int bestAt = -1, bestOpt = -1;
            for (int at = 0; at < L * S; at++)
            {
                int o = opts[at];
                if (o == skip) continue;
                double a = alpha[at * O + o];
                if (ForcedSampling.SkipAllowed(preset, at % S)) Consider(at, o, skip, a - alpha[at * O + skip]);
                for (int k = 0; k < preset.Kernels.Count; k++)
                    if (preset.Kernels[k] < preset.Kernels[o]) Consider(at, o, k, a - alpha[at * O + k]);
            }
            repaired = true;
            if (bestAt < 0) return (SupernetPath.FromArchitecture(preset, smallest), true);
            opts[bestAt] = bestOpt;
            current = bestCost;

            void Consider(int where, int from, int option, double scoreLoss)
            {
                opts[where] = option;
                double after = cost.Of(AlphaDecoding.FromOptions(preset, opts));
                opts[where] = from;
                double saved = current - after;
                if (saved <= 0) return;
                double ratio = scoreLoss / saved;
                if (ratio < bestRatio) { bestRatio = ratio; bestAt = where; bestOpt = option; bestCost = after; }
            }
        }
        return (SupernetPath.FromOptions(preset, opts), repaired);
    }

    /// <summary>
    /// Decodes one α map [L, e_max, options] and repairs it to cost at most <paramref name="targetM"/>.
    /// Returns the canonical architecture and whether a repair was needed.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The target is below the smallest architecture's FLOPs.</exception>
    public static (Architecture Architecture, bool Repaired) Apply(SearchSpacePreset preset, FlopsLookupTable table, ReadOnlySpan<float> alpha, double targetM)
    {
        var (path, repaired) = ApplyPath(preset, table, alpha, targetM);
        return (path.ToArchitecture(), repaired);
    }

    /// <summary>
    /// As <see cref="Apply"/>, returning the repaired positional path (each reduction changes one sub-block in place),
    /// which is what the supernet scores (docs/generator.md); its architecture is <see cref="Apply"/>'s.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The target is below the smallest architecture's FLOPs.</exception>
    public static (SupernetPath Path, bool Repaired) ApplyPath(SearchSpacePreset preset, FlopsLookupTable table, ReadOnlySpan<float> alpha, double targetM)
    {
        int L = preset.LayerCount, S = preset.MaxExpansion, O = preset.OptionCount, skip = preset.SkipIndex;
        var opts = AlphaDecoding.ArgMaxOptions(preset, alpha);
        double min = table.CostM(Architecture.Smallest(preset));
        if (targetM < min - 1e-9)
            throw new ArgumentOutOfRangeException(nameof(targetM), targetM, $"no architecture of '{preset.Name}' costs at most {targetM} M; the minimum is {min:F4} M.");
        double cost = table.CostM(AlphaDecoding.FromOptions(preset, opts));
        bool repaired = false;
        // The running cost is a sum of exact per-sub-block savings; it is re-derived from the architecture whenever it
        // claims to fit, so rounding in the sum can never let an over-budget architecture through.
        while (cost > targetM || (cost = table.CostM(AlphaDecoding.FromOptions(preset, opts))) > targetM)
        {
            double bestRatio = double.PositiveInfinity, bestSaved = 0;
            int bestAt = -1, bestOpt = -1;
            for (int at = 0; at < L * S; at++)
            {
                int o = opts[at], layer = at / S;
                if (o == skip) continue;
                double a = alpha[at * O + o];
                // Eq. 9 is additive per sub-block: skipping saves its depthwise conv and 1/e_max of the pointwise convs,
                // a smaller kernel saves the depthwise difference (MACs → M).
                if (ForcedSampling.SkipAllowed(preset, at % S))
                    Consider(at, skip, a - alpha[at * O + skip], (table.DepthwiseMacs[layer, o] + table.PointwiseMacs[layer] / S) / 1e6);
                for (int k = 0; k < preset.Kernels.Count; k++)
                    if (preset.Kernels[k] < preset.Kernels[o])
                        Consider(at, k, a - alpha[at * O + k], (table.DepthwiseMacs[layer, o] - table.DepthwiseMacs[layer, k]) / 1e6);
            }
            if (bestAt < 0)
            {
                // Nothing left to reduce: the running sum sat a rounding error above an exact fit (a budget at the
                // smallest architecture's count), or the budget is within the feasibility tolerance below it.
                if (table.CostM(AlphaDecoding.FromOptions(preset, opts)) <= targetM) break;
                return (SupernetPath.FromArchitecture(preset, Architecture.Smallest(preset)), true);
            }
            opts[bestAt] = bestOpt;
            cost -= bestSaved;
            repaired = true;

            void Consider(int where, int option, double scoreLoss, double saved)
            {
                if (saved <= 0) return;
                double ratio = scoreLoss / saved;
                if (ratio < bestRatio) { bestRatio = ratio; bestAt = where; bestOpt = option; bestSaved = saved; }
            }
        }
        return (SupernetPath.FromOptions(preset, opts), repaired);
    }
}
