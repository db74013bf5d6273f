using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Search;

/// <summary>Options of <see cref="RandomSearch"/>; defaults from SGNAS section 4.2 (1000 architectures).</summary>
public sealed record RandomSearchOptions
{
    /// <summary>Architectures to score (paper: 1000).</summary>
    public int Evaluations { get; init; } = 1000;

    /// <summary>Draws allowed per proposal before the constraint is declared infeasible.</summary>
    public int MaxTriesPerCandidate { get; init; } = 10_000;

    /// <summary>Seed of the tuner's own random state.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the option out of range.</summary>
    public void Validate()
    {
        if (Evaluations <= 0) throw new ArgumentOutOfRangeException(nameof(Evaluations), Evaluations, "must be positive.");
        if (MaxTriesPerCandidate <= 0) throw new ArgumentOutOfRangeException(nameof(MaxTriesPerCandidate), MaxTriesPerCandidate, "must be positive.");
    }
}

/// <summary>
/// Random search with weight sharing (Li &amp; Talwalkar 2019, the SGNAS Table 1 baseline): uniform points of the
/// search space's unit cube, rejected until they meet the FLOPs constraint; the best validation top-1 wins.
/// Proposals are distinct while distinct feasible architectures can be found.
/// </summary>
public sealed class RandomSearch : IArchitectureTuner, IParallelProposals
{
    private readonly ArchitectureSearchSpace _space;
    private readonly BudgetConstraint _constraint;
    private readonly RandomSearchOptions _options;
    private readonly Random _random;
    private readonly HashSet<Architecture> _seen = new();

    /// <summary>Creates the tuner for one constraint.</summary>
    public RandomSearch(ArchitectureSearchSpace space, BudgetConstraint constraint, RandomSearchOptions? options = null)
    {
        _space = space ?? throw new ArgumentNullException(nameof(space));
        _constraint = constraint ?? throw new ArgumentNullException(nameof(constraint));
        _options = options ?? new RandomSearchOptions();
        _options.Validate();
        _random = new Random(_options.Seed);
    }

    /// <summary>The options in use.</summary>
    public RandomSearchOptions Options => _options;

    /// <summary>Best architecture reported so far and its score (null before the first update).</summary>
    public (Architecture Architecture, double Score)? Best { get; private set; }

    /// <inheritdoc />
    public Architecture Propose()
    {
        Architecture? repeat = null;
        for (int t = 0; t < _options.MaxTriesPerCandidate; t++)
        {
            var a = _space.FromUnitVector(_space.SampleUnitVector(_random));
            if (!_constraint.IsSatisfiedBy(a))
            {
                if (t < BudgetConstraint.RejectionTries || _constraint.ShrinkToFit(a, _random) is not { } fitted) continue;
                a = fitted;
            }
            if (_seen.Add(a)) return a;
            repeat ??= a;
        }
        // Every feasible draw had been proposed already: the feasible set is (nearly) exhausted, not empty.
        return repeat ?? throw _constraint.NotFound(_options.MaxTriesPerCandidate);
    }

    /// <inheritdoc />
    /// <summary>Unbounded: proposals never depend on scores.</summary>
    public int ProposableNow => int.MaxValue;

    /// <inheritdoc />
    public void Update(Architecture architecture, double score)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        if (Best is null || score > Best.Value.Score) Best = (architecture.Canonical(), score);
    }
}
