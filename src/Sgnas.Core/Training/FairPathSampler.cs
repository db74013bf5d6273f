using Sgnas.SearchSpace;

namespace Sgnas.Training;

/// <summary>How the supernet trainer draws the single paths of one optimizer step.</summary>
public enum PathSampling
{
    /// <summary>
    /// Strict fairness (docs/design.md §2, reference implementation): the K = |kernels| paths of a step
    /// assign every kernel option of every sub-block exactly once; expansion rates cycle through shuffled orders.
    /// </summary>
    Fair,

    /// <summary>SPOS-style uniform sampling: every path independently uniform (rate, then a kernel per sub-block).</summary>
    Uniform,
}

/// <summary>Resumable state of a <see cref="FairPathSampler"/>: the seed and the number of steps drawn so far.</summary>
/// <param name="Seed">Seed the sampler was created with.</param>
/// <param name="Steps">Optimizer steps drawn (each step is one call of <see cref="FairPathSampler.NextStep"/>).</param>
public sealed record PathSamplerState(int Seed, long Steps);

/// <summary>
/// Draws the single paths of each supernet optimizer step.
/// <para>
/// <see cref="PathSampling.Fair"/> (strict fairness, docs/design.md §2): a step has K = |kernels| paths (or more,
/// e.g. the reference's K = 4, see <see cref="FairPathSampler(SearchSpacePreset, int, PathSampling, int?)"/>). For every
/// layer and every sub-block j, a fresh random permutation of the kernels is spread over the K paths, so path p uses
/// kernel <c>perm_j[p]</c> in sub-block j: each (layer, sub-block, kernel) is assigned exactly once per step. It is
/// trained in that step when the path it is assigned to has sub-block j active (always for j &lt; e_min; for higher
/// sub-blocks it depends on the sampled rates, since a skipped sub-block has no weights to train). Each layer's
/// expansion rate, one per path, is taken from a queue holding a shuffled order of e_min..e_max, reshuffled when
/// exhausted, so every rate is used once in every |rates| consecutive paths of a cycle.
/// </para>
/// <para>
/// <see cref="PathSampling.Uniform"/>: each of the K paths is drawn independently (uniform rate, uniform kernel per
/// active sub-block), as in SPOS.
/// </para>
/// Paths are returned with kernels in sub-block order (not canonical): sub-block j of a layer uses <c>Kernels[j]</c>.
/// The sampler owns its <see cref="Random"/>; its state is (seed, steps drawn) and is restored by replaying the
/// draws (cheap: a few hundred integers per step).
/// </summary>
public sealed class FairPathSampler
{
    private readonly SearchSpacePreset _preset;
    private readonly Random _rng;
    private readonly Queue<int>[] _rateQueues;

    /// <summary>Creates a sampler.</summary>
    /// <param name="preset">Search space.</param>
    /// <param name="seed">Seed of the sampler's own random stream.</param>
    /// <param name="sampling">Fair or uniform.</param>
    /// <param name="pathsPerStep">Paths per optimizer step; under <see cref="PathSampling.Fair"/> at least the number of
    /// kernel options n (with K = n each option is assigned to exactly one path; with K &gt; n, as the reference's
    /// K = 4, each option ⌊K/n⌋ or ⌈K/n⌉ times).</param>
    /// <exception cref="ArgumentException">Fair sampling with fewer paths than kernels.</exception>
    public FairPathSampler(SearchSpacePreset preset, int seed, PathSampling sampling = PathSampling.Fair, int? pathsPerStep = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        int k = pathsPerStep ?? preset.Kernels.Count;
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(pathsPerStep), k, "paths per step must be at least 1.");
        if (sampling == PathSampling.Fair && k < preset.Kernels.Count)
            throw new ArgumentException(
                $"strict fairness needs at least one path per kernel option: paths per step must be at least {preset.Kernels.Count} for preset " +
                $"'{preset.Name}' (kernels {string.Join(",", preset.Kernels)}); got {k}. Use uniform sampling for fewer.",
                nameof(pathsPerStep));
        _preset = preset;
        Seed = seed;
        Sampling = sampling;
        PathsPerStep = k;
        _rng = new Random(seed);
        _rateQueues = Enumerable.Range(0, preset.LayerCount).Select(_ => new Queue<int>()).ToArray();
    }

    /// <summary>Recreates a sampler in <paramref name="state"/> by replaying its draws.</summary>
    public static FairPathSampler Restore(SearchSpacePreset preset, PathSamplerState state, PathSampling sampling = PathSampling.Fair, int? pathsPerStep = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.Steps < 0) throw new ArgumentOutOfRangeException(nameof(state), state.Steps, "sampler steps must be ≥ 0.");
        var s = new FairPathSampler(preset, state.Seed, sampling, pathsPerStep);
        for (long i = 0; i < state.Steps; i++) s.NextStep();
        return s;
    }

    /// <summary>Seed of the random stream.</summary>
    public int Seed { get; }

    /// <summary>Fair or uniform.</summary>
    public PathSampling Sampling { get; }

    /// <summary>Paths per optimizer step (K).</summary>
    public int PathsPerStep { get; }

    /// <summary>Steps drawn so far.</summary>
    public long Steps { get; private set; }

    /// <summary>
    /// Fair sampling only: the kernel assigned to [path, layer, sub-block] in the last step, including sub-blocks that
    /// the path skips (those assignments are not trained in that step). Null before the first fair step.
    /// </summary>
    public int[,,]? LastAssignment { get; private set; }

    /// <summary>The state to store in a checkpoint.</summary>
    public PathSamplerState State => new(Seed, Steps);

    /// <summary>The <see cref="PathsPerStep"/> paths of the next optimizer step (kernels in sub-block order).</summary>
    public IReadOnlyList<Architecture> NextStep()
    {
        var paths = Sampling == PathSampling.Fair ? FairStep() : UniformStep();
        Steps++;
        return paths;
    }

    private Architecture[] FairStep()
    {
        int K = PathsPerStep, L = _preset.LayerCount, S = _preset.MaxExpansion;
        var layers = new LayerChoice[K][];
        for (int p = 0; p < K; p++) layers[p] = new LayerChoice[L];
        var perm = new int[S][];
        var assignment = new int[K, L, S];
        for (int i = 0; i < L; i++)
        {
            // Draw all S permutations even if no path uses the top sub-blocks: the stream then does not depend on
            // the rates, which keeps the replay trivial to reason about.
            for (int j = 0; j < S; j++)
            {
                perm[j] = BalancedKernels(K);
                for (int p = 0; p < K; p++) assignment[p, i, j] = _preset.Kernels[perm[j][p]];
            }
            for (int p = 0; p < K; p++)
            {
                int e = NextRate(i);
                var ks = new int[e];
                for (int j = 0; j < e; j++) ks[j] = _preset.Kernels[perm[j][p]];
                layers[p][i] = new LayerChoice(ks);
            }
        }
        LastAssignment = assignment;
        return layers.Select(l => new Architecture(l)).ToArray();
    }

    private Architecture[] UniformStep()
    {
        var paths = new Architecture[PathsPerStep];
        for (int p = 0; p < paths.Length; p++)
        {
            var layers = new LayerChoice[_preset.LayerCount];
            for (int i = 0; i < layers.Length; i++)
            {
                int e = _rng.Next(_preset.MinExpansion, _preset.MaxExpansion + 1);
                var ks = new int[e];
                for (int j = 0; j < e; j++) ks[j] = _preset.Kernels[_rng.Next(_preset.Kernels.Count)];
                layers[i] = new LayerChoice(ks);
            }
            paths[p] = new Architecture(layers);
        }
        return paths;
    }

    /// <summary>
    /// Kernel indices for the K paths of one sub-block: a permutation of the n kernels when K = n (each exactly once);
    /// for K &gt; n, consecutive permutations cut at K, so each kernel is used ⌊K/n⌋ or ⌈K/n⌉ times.
    /// </summary>
    private int[] BalancedKernels(int k)
    {
        int n = _preset.Kernels.Count;
        if (k == n) return Permutation(n);
        var seq = new List<int>(k + n);
        while (seq.Count < k) seq.AddRange(Permutation(n));
        return seq.Take(k).ToArray();
    }

    private int NextRate(int layer)
    {
        var q = _rateQueues[layer];
        if (q.Count == 0)
        {
            int n = _preset.MaxExpansion - _preset.MinExpansion + 1;
            foreach (int r in Permutation(n)) q.Enqueue(_preset.MinExpansion + r);
        }
        return q.Dequeue();
    }

    private int[] Permutation(int n)
    {
        var a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = _rng.Next(i + 1);
            (a[i], a[j]) = (a[j], a[i]);
        }
        return a;
    }
}
