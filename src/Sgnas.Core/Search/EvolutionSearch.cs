using Sgnas.SearchSpace;

namespace Sgnas.Search;

/// <summary>
/// Options of <see cref="EvolutionSearch"/>. Defaults are the SPOS paper's (section 3.4, docs/design.md §5):
/// population 50, 20 iterations, top-k 10, half crossover and half mutation, mutation probability 0.1 per
/// choice block.
/// </summary>
public sealed record EvolutionSearchOptions
{
    /// <summary>Candidates per generation (paper: 50).</summary>
    public int Population { get; init; } = 50;

    /// <summary>Generations scored (paper: 20); a search scores Population × Iterations proposals.</summary>
    public int Iterations { get; init; } = 20;

    /// <summary>Parents kept across generations (paper: 10).</summary>
    public int TopK { get; init; } = 10;

    /// <summary>Share of each new generation made by crossover; the rest by mutation (paper: ½).</summary>
    public double CrossoverFraction { get; init; } = 0.5;

    /// <summary>Probability that mutation resamples a layer's choice (paper: 0.1).</summary>
    public double MutationProbability { get; init; } = 0.1;

    /// <summary>Draws allowed per new candidate before the constraint is declared infeasible.</summary>
    public int MaxTriesPerCandidate { get; init; } = 10_000;

    /// <summary>Seed of the tuner's own random state.</summary>
    public int Seed { get; init; }

    /// <summary>Proposals one search makes: Population × Iterations.</summary>
    public int TotalEvaluations => Population * Iterations;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the option out of range.</summary>
    public void Validate()
    {
        if (Population < 2) throw new ArgumentOutOfRangeException(nameof(Population), Population, "must be at least 2.");
        if (Iterations <= 0) throw new ArgumentOutOfRangeException(nameof(Iterations), Iterations, "must be positive.");
        if (TopK <= 0 || TopK > Population) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, $"must lie in 1..Population ({Population}).");
        if (!(CrossoverFraction >= 0 && CrossoverFraction <= 1)) throw new ArgumentOutOfRangeException(nameof(CrossoverFraction), CrossoverFraction, "must lie in [0, 1].");
        if (!(MutationProbability > 0 && MutationProbability <= 1)) throw new ArgumentOutOfRangeException(nameof(MutationProbability), MutationProbability, "must lie in (0, 1].");
        if (MaxTriesPerCandidate <= 0) throw new ArgumentOutOfRangeException(nameof(MaxTriesPerCandidate), MaxTriesPerCandidate, "must be positive.");
    }
}

/// <summary>
/// Evolutionary architecture search of SPOS (Algorithm 1) as a Propose/Update tuner. Generation 0 is random under
/// the constraint; once every member of a generation is scored, the next one is made from the top-k seen so far:
/// <c>Population·CrossoverFraction</c> children by crossover (each layer taken from one of two random parents) and
/// the rest by mutation (each layer of a random parent resampled with <c>MutationProbability</c>). Every new
/// candidate meets the FLOPs constraint and has not been proposed before; after
/// <c>MaxTriesPerCandidate</c> failed draws the operator falls back to random sampling, which raises
/// <see cref="InfeasibleConstraintException"/> if it fails too. The result is the best of the top-k.
/// </summary>
public sealed class EvolutionSearch : IArchitectureTuner, IParallelProposals
{
    private readonly SearchSpacePreset _preset;
    private readonly BudgetConstraint _constraint;
    private readonly EvolutionSearchOptions _options;
    private readonly Random _random;
    private readonly HashSet<Architecture> _seen = new();
    private readonly Queue<Architecture> _queue = new();
    private readonly HashSet<Architecture> _awaiting = new();
    private readonly List<(Architecture Architecture, double Score)> _topK = new();

    /// <summary>Creates the tuner for one constraint.</summary>
    public EvolutionSearch(SearchSpacePreset preset, BudgetConstraint constraint, EvolutionSearchOptions? options = null)
    {
        _preset = preset ?? throw new ArgumentNullException(nameof(preset));
        _constraint = constraint ?? throw new ArgumentNullException(nameof(constraint));
        _options = options ?? new EvolutionSearchOptions();
        _options.Validate();
        _random = new Random(_options.Seed);
    }

    /// <summary>The options in use.</summary>
    public EvolutionSearchOptions Options => _options;

    /// <summary>Index of the generation being proposed (0 = the random initial population; −1 before the first proposal).</summary>
    public int Generation { get; private set; } = -1;

    /// <summary>The best architectures seen so far, best first.</summary>
    public IReadOnlyList<(Architecture Architecture, double Score)> TopK => _topK;

    /// <summary>The rest of the current generation, or a whole new one once every candidate has been scored.</summary>
    public int ProposableNow => _queue.Count > 0 ? _queue.Count : _awaiting.Count == 0 ? _options.Population : 0;

    /// <summary>Best architecture seen so far and its score (null before the first update).</summary>
    public (Architecture Architecture, double Score)? Best => _topK.Count > 0 ? _topK[0] : null;

    /// <inheritdoc />
    /// <exception cref="InvalidOperationException">The current generation is used up but not all of it has been scored.</exception>
    public Architecture Propose()
    {
        if (_queue.Count == 0)
        {
            if (_awaiting.Count > 0)
                throw new InvalidOperationException(
                    $"generation {Generation} still has {_awaiting.Count} unscored candidates; call Update for each before proposing more.");
            NextGeneration();
        }
        var a = _queue.Dequeue();
        _awaiting.Add(a);
        return a;
    }

    /// <inheritdoc />
    public void Update(Architecture architecture, double score)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        var a = architecture.Canonical();
        _awaiting.Remove(a);
        if (_topK.Any(t => t.Architecture.Equals(a))) return;
        // Stable insertion: among equal scores the earlier candidate stays ahead.
        int at = _topK.FindIndex(t => score > t.Score);
        if (at < 0) at = _topK.Count;
        _topK.Insert(at, (a, score));
        if (_topK.Count > _options.TopK) _topK.RemoveAt(_topK.Count - 1);
    }

    private void NextGeneration()
    {
        Generation++;
        if (_topK.Count == 0)
        {
            for (int i = 0; i < _options.Population; i++) _queue.Enqueue(Accept(RandomCandidate()));
            return;
        }
        int crossovers = (int)Math.Round(_options.Population * _options.CrossoverFraction);
        for (int i = 0; i < crossovers; i++) _queue.Enqueue(Accept(Draw(Crossover)));
        for (int i = crossovers; i < _options.Population; i++) _queue.Enqueue(Accept(Draw(Mutation)));
    }

    private Architecture Accept(Architecture a) { _seen.Add(a); return a; }

    /// <summary>Applies <paramref name="op"/> until it yields a new candidate under the constraint, else falls back to random.</summary>
    private Architecture Draw(Func<Architecture> op)
    {
        for (int t = 0; t < _options.MaxTriesPerCandidate; t++)
        {
            var c = op();
            if (!_seen.Contains(c) && _constraint.IsSatisfiedBy(c)) return c;
        }
        return RandomCandidate();
    }

    private Architecture RandomCandidate()
    {
        Architecture? repeat = null;
        for (int t = 0; t < _options.MaxTriesPerCandidate; t++)
        {
            var a = RandomArchitecture();
            if (!_constraint.IsSatisfiedBy(a))
            {
                if (t < BudgetConstraint.RejectionTries || _constraint.ShrinkToFit(a, _random) is not { } fitted) continue;
                a = fitted;
            }
            if (!_seen.Contains(a)) return a;
            repeat ??= a;
        }
        return repeat ?? throw _constraint.NotFound(_options.MaxTriesPerCandidate);
    }

    /// <summary>Crossover: each layer from one of two distinct random top-k parents (the same parent if only one).</summary>
    internal Architecture Crossover()
    {
        var (a, b) = TwoParents();
        return Cross(a, b, _random);
    }

    /// <summary>Mutation: each layer of a random top-k parent resampled with probability <c>MutationProbability</c>.</summary>
    internal Architecture Mutation() => Mutate(_topK[_random.Next(_topK.Count)].Architecture, _preset, _options.MutationProbability, _random);

    private (Architecture, Architecture) TwoParents()
    {
        int i = _random.Next(_topK.Count);
        if (_topK.Count == 1) return (_topK[i].Architecture, _topK[i].Architecture);
        int j = _random.Next(_topK.Count - 1);
        if (j >= i) j++;
        return (_topK[i].Architecture, _topK[j].Architecture);
    }

    /// <summary>Per-layer uniform crossover of two architectures; the child is canonical.</summary>
    public static Architecture Cross(Architecture a, Architecture b, Random random)
    {
        if (a.Layers.Count != b.Layers.Count)
            throw new ArgumentException($"parents have {a.Layers.Count} and {b.Layers.Count} layers.");
        return new Architecture(a.Layers.Select((l, i) => random.Next(2) == 0 ? l : b.Layers[i])).Canonical();
    }

    /// <summary>Resamples each layer of <paramref name="a"/> with probability <paramref name="probability"/>; canonical result.</summary>
    public static Architecture Mutate(Architecture a, SearchSpacePreset preset, double probability, Random random) =>
        new Architecture(a.Layers.Select(l => random.NextDouble() < probability ? RandomLayer(preset, random) : l)).Canonical();

    private Architecture RandomArchitecture() =>
        new Architecture(Enumerable.Range(0, _preset.LayerCount).Select(_ => RandomLayer(_preset, _random))).Canonical();

    /// <summary>A uniform layer choice: uniform expansion rate, then a uniform kernel per active sub-block.</summary>
    public static LayerChoice RandomLayer(SearchSpacePreset preset, Random random)
    {
        int e = random.Next(preset.MinExpansion, preset.MaxExpansion + 1);
        var ks = new int[e];
        for (int j = 0; j < e; j++) ks[j] = preset.Kernels[random.Next(preset.Kernels.Count)];
        return new LayerChoice(ks).Canonical();
    }
}
