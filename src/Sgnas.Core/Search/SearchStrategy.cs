using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Distributed;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Search;

/// <summary>The outcome of one search for one constraint.</summary>
/// <param name="Strategy">Name of the strategy (random, evolution, generator).</param>
/// <param name="TargetFlopsM">The target: FLOPs in M, or for a latency search (<see cref="Kind"/>) the budget in ms.</param>
/// <param name="Architecture">The chosen (canonical) architecture.</param>
/// <param name="FlopsM">Exact FLOPs (MACs) of the chosen architecture built as a network (<see cref="FlopsCounter"/>), in M.</param>
/// <param name="ValTop1">Its validation top-1 with inherited weights after BN recalibration.</param>
/// <param name="ValLoss">Its validation cross-entropy.</param>
/// <param name="Seconds">Wall time of this search (proposals plus evaluations).</param>
/// <param name="Evaluated">Candidates scored by this search (distinct architectures).</param>
/// <param name="Trials">Every scored proposal in order.</param>
public sealed record SearchResult(string Strategy, double TargetFlopsM, Architecture Architecture, double FlopsM,
    double ValTop1, double ValLoss, double Seconds, int Evaluated, IReadOnlyList<Trial> Trials)
{
    /// <summary>True if the chosen architecture is within the target (latency: its <see cref="Cost"/> as judged by the search).</summary>
    public bool WithinTarget => (Kind == ConstraintKind.Flops ? FlopsM : Cost ?? double.PositiveInfinity) <= TargetFlopsM + 1e-9;

    /// <summary>The kind of budget searched for (docs/latency.md); <see cref="TargetFlopsM"/> is in its unit.</summary>
    public ConstraintKind Kind { get; init; } = ConstraintKind.Flops;

    /// <summary>The budget as a value with its kind.</summary>
    public Budget Budget => new(Kind, TargetFlopsM);

    /// <summary>
    /// The pick's cost as the search judged it, in the unit of <see cref="Kind"/>: FLOPs, or latency in ms predicted by
    /// the table or measured (whichever the search was given). Null when not recorded.
    /// </summary>
    public double? Cost { get; init; }

    /// <summary>Batch-1 latency of the pick measured end to end (e.g. ONNX Runtime, by <c>compare</c>), in ms; null when not measured.</summary>
    public double? MeasuredMs { get; init; }

    /// <summary>
    /// The supernet path <see cref="ValTop1"/> was measured on: the canonical prefix path of
    /// <see cref="Architecture"/> for the baselines, the generator's positional path for the generator
    /// (docs/generator.md). Re-score the pick on another split with this path. Null when not recorded.
    /// </summary>
    public SupernetPath? Path { get; init; }
}

/// <summary>
/// A way to find an architecture for a constraint (FLOPs in M, or latency in ms for strategies built with a latency
/// <see cref="ConstraintCost"/>) on a trained supernet: re-run per constraint (random,
/// evolution) or amortised (the generator, trained once). All implementations score their pick with the same
/// <see cref="CandidateEvaluator"/> protocol, so their results compare (SGNAS Table 1).
/// </summary>
public interface ISearchStrategy
{
    /// <summary>Short name, e.g. "random", "evolution", "generator".</summary>
    string Name { get; }

    /// <summary>Time paid once for any number of constraints (the generator's training), in seconds; 0 for baselines.</summary>
    double SetupSeconds => 0;

    /// <summary>Finds an architecture with cost ≤ <paramref name="targetFlopsM"/> in the strategy's unit (M FLOPs unless it was built for latency; or as close as the strategy gets).</summary>
    SearchResult Search(double targetFlopsM, CancellationToken cancellationToken = default, IProgress<TrainingProgress>? progress = null);
}

/// <summary>
/// Drives any <see cref="IArchitectureTuner"/> with a <see cref="CandidateEvaluator"/>: propose, score, update, for
/// a fixed number of trials; the best validation top-1 wins (ties: lower loss, then fewer FLOPs). The evaluator's
/// cache is cleared at the start of each search unless asked otherwise, so every constraint pays its full search
/// cost as a separate run would (SGNAS Table 1 counts 34N GPU hours for N constraints).
/// </summary>
public sealed class TunerSearchStrategy : ISearchStrategy
{
    private readonly Func<double, IArchitectureTuner> _createTuner;
    private readonly CandidateEvaluator _evaluator;
    private readonly bool _reuseCache;

    /// <summary>Creates the strategy.</summary>
    /// <param name="name">Strategy name for reports.</param>
    /// <param name="createTuner">Makes a fresh tuner for a FLOPs target (in M).</param>
    /// <param name="trials">Proposals per search.</param>
    /// <param name="evaluator">Scores candidates.</param>
    /// <param name="reuseCache">Keep cached scores across searches (faster, but understates per-constraint time).</param>
    public TunerSearchStrategy(string name, Func<double, IArchitectureTuner> createTuner, int trials, CandidateEvaluator evaluator, bool reuseCache = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (trials <= 0) throw new ArgumentOutOfRangeException(nameof(trials), trials, "a search needs at least one trial.");
        Name = name;
        _createTuner = createTuner ?? throw new ArgumentNullException(nameof(createTuner));
        _evaluator = evaluator ?? throw new ArgumentNullException(nameof(evaluator));
        Trials = trials;
        _reuseCache = reuseCache;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>Proposals per search.</summary>
    public int Trials { get; }

    /// <summary>
    /// Optional journal per target (e.g. a file per strategy and budget): candidates found there are not scored again
    /// and newly scored ones are appended, so an interrupted search resumes where it stopped (the tuner is seeded, so
    /// it proposes the same candidates). Replayed candidates count with their recorded time and as evaluated.
    /// </summary>
    public Func<double, CandidateJournal?>? Journal { get; init; }

    /// <summary>The same strategy with <paramref name="journal"/> as its <see cref="Journal"/>.</summary>
    public TunerSearchStrategy WithJournal(Func<double, CandidateJournal?> journal) =>
        new(Name, _createTuner, Trials, _evaluator, _reuseCache) { Journal = journal, Constraint = Constraint };

    /// <summary>
    /// The cost the tuners' targets are judged with (docs/latency.md), recorded in each result's
    /// <see cref="SearchResult.Kind"/> and <see cref="SearchResult.Cost"/>; null for FLOPs.
    /// </summary>
    public ConstraintCost? Constraint { get; init; }

    /// <summary>Random search (Li &amp; Talwalkar) on <paramref name="evaluator"/>'s supernet.</summary>
    /// <param name="evaluator">Scores candidates.</param>
    /// <param name="options">Search budget and seed.</param>
    /// <param name="cost">What a target limits: null for FLOPs, or a latency cost (table or measured); targets are in its unit.</param>
    public static TunerSearchStrategy Random(CandidateEvaluator evaluator, RandomSearchOptions? options = null, ConstraintCost? cost = null)
    {
        options ??= new RandomSearchOptions();
        options.Validate();
        var space = new ArchitectureSearchSpace(evaluator.Preset);
        return new TunerSearchStrategy("random",
            t => new RandomSearch(space, ConstraintFor(evaluator, cost, t), options with { Seed = SeedFor(options.Seed, t) }),
            options.Evaluations, evaluator) { Constraint = cost };
    }

    /// <summary>SPOS evolutionary search (Algorithm 1) on <paramref name="evaluator"/>'s supernet.</summary>
    /// <param name="evaluator">Scores candidates.</param>
    /// <param name="options">Search budget and seed.</param>
    /// <param name="cost">What a target limits: null for FLOPs, or a latency cost (table or measured); targets are in its unit.</param>
    public static TunerSearchStrategy Evolution(CandidateEvaluator evaluator, EvolutionSearchOptions? options = null, ConstraintCost? cost = null)
    {
        options ??= new EvolutionSearchOptions();
        options.Validate();
        return new TunerSearchStrategy("evolution",
            t => new EvolutionSearch(evaluator.Preset, ConstraintFor(evaluator, cost, t), options with { Seed = SeedFor(options.Seed, t) }),
            options.TotalEvaluations, evaluator) { Constraint = cost };
    }

    private static BudgetConstraint ConstraintFor(CandidateEvaluator evaluator, ConstraintCost? cost, double target) =>
        cost is null ? new FlopsConstraint(evaluator.Table, target) : new BudgetConstraint(cost, target);

    /// <summary>
    /// The tuner seed for one target: a mix of the options' seed and the target, so searches for different
    /// constraints are independent runs (as N separate searches would be) yet each is reproducible.
    /// </summary>
    public static int SeedFor(int seed, double targetFlopsM) =>
        SeedMix.Mix(seed, (int)Math.Round(targetFlopsM * 1000), 11);

    /// <inheritdoc />
    public SearchResult Search(double targetFlopsM, CancellationToken cancellationToken = default, IProgress<TrainingProgress>? progress = null)
    {
        var clock = Stopwatch.StartNew();
        if (!_reuseCache) _evaluator.ClearCache();
        int before = _evaluator.Evaluations;
        var tuner = _createTuner(targetFlopsM);
        string stage = $"{Name} <= {targetFlopsM.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} {Constraint?.Unit ?? "M"}";
        var trials = new List<Trial>(Trials);
        var journal = Journal?.Invoke(targetFlopsM);
        var replayed = new HashSet<Architecture>();
        double replayedSeconds = 0;
        CandidateResult? best = null;
        if (Cluster.World.Size > 1 && tuner is IParallelProposals parallel)
            best = SearchInBatches(tuner, parallel, trials, journal, replayed, ref replayedSeconds, stage, progress, cancellationToken);
        else
        for (int t = 1; t <= Trials; t++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var arch = tuner.Propose();
            int evaluationsBefore = _evaluator.Evaluations;
            CandidateResult r;
            bool fresh;
            if (journal is not null && journal.TryGet(arch, out var recorded))
            {
                r = recorded;
                fresh = replayed.Add(r.Architecture);
                if (fresh) replayedSeconds += r.Seconds;
            }
            else
            {
                r = _evaluator.Evaluate(arch, cancellationToken);
                fresh = _evaluator.Evaluations > evaluationsBefore;
                journal?.Append(r);
            }
            tuner.Update(r.Architecture, r.ValTop1);
            trials.Add(new Trial(t, r.Architecture, r.FlopsM, r.ValTop1, r.ValLoss, fresh ? r.Seconds : 0));
            if (best is null || Better(r, best)) best = r;
            progress?.Report(new TrainingProgress(stage, 1, 1, t, Trials,
                new Dictionary<string, double> { ["top1"] = r.ValTop1, ["best_top1"] = best.ValTop1, ["best_flopsM"] = best.FlopsM },
                EpochDone: t == Trials));
        }
        var exact = FlopsCounter.Count(_evaluator.Preset, best!.Architecture).FlopsM;
        return new SearchResult(Name, targetFlopsM, best.Architecture, exact, best.ValTop1, best.ValLoss,
            clock.Elapsed.TotalSeconds + replayedSeconds, _evaluator.Evaluations - before + replayed.Count, trials)
        {
            Path = SupernetPath.FromArchitecture(_evaluator.Preset, best.Architecture),
            Kind = Constraint?.Kind ?? ConstraintKind.Flops, Cost = Constraint is null ? exact : Constraint.Of(best.Architecture),
        };
    }

    /// <summary>
    /// The trial loop under MPI (docs/distributed.md §5): proposes as many candidates as the tuner can without scores,
    /// scores them spread over the ranks (<see cref="CandidateEvaluator.EvaluateMany"/>), then records and updates in
    /// proposal order, so trials and result equal the one-at-a-time loop's. Only rank 0 appends to the journal; a
    /// candidate appended during this search is looked up in the evaluator's cache on every rank alike.
    /// </summary>
    private CandidateResult? SearchInBatches(IArchitectureTuner tuner, IParallelProposals parallel, List<Trial> trials, CandidateJournal? journal,
        HashSet<Architecture> replayed, ref double replayedSeconds, string stage, IProgress<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        bool writer = Cluster.World.Rank == 0;
        var appended = new HashSet<Architecture>();
        CandidateResult? best = null;
        int t = 0;
        while (t < Trials)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int n = Math.Min(parallel.ProposableNow, Trials - t);
            if (n <= 0) throw new InvalidOperationException($"{Name}: the tuner has no proposal although every earlier one was scored.");
            var archs = new Architecture[n];
            for (int i = 0; i < n; i++) archs[i] = tuner.Propose();
            var recorded = new CandidateResult?[n];
            var toScore = new List<Architecture>();
            for (int i = 0; i < n; i++)
            {
                if (journal is not null && !appended.Contains(archs[i].Canonical()) && journal.TryGet(archs[i], out var r)) recorded[i] = r;
                else toScore.Add(archs[i]);
            }
            var wasCached = toScore.Select(_evaluator.IsCached).ToArray();
            var scored = _evaluator.EvaluateMany(toScore, cancellationToken);
            var firstSeen = new HashSet<Architecture>();
            for (int i = 0, k = 0; i < n; i++)
            {
                t++;
                CandidateResult r;
                bool fresh;
                if (recorded[i] is { } rec)
                {
                    r = rec;
                    fresh = replayed.Add(r.Architecture);
                    if (fresh) replayedSeconds += r.Seconds;
                }
                else
                {
                    r = scored[k];
                    fresh = !wasCached[k] && firstSeen.Add(r.Architecture);
                    k++;
                    if (journal is not null && appended.Add(r.Architecture) && writer) journal.Append(r);
                }
                tuner.Update(r.Architecture, r.ValTop1);
                trials.Add(new Trial(t, r.Architecture, r.FlopsM, r.ValTop1, r.ValLoss, fresh ? r.Seconds : 0));
                if (best is null || Better(r, best)) best = r;
                progress?.Report(new TrainingProgress(stage, 1, 1, t, Trials,
                    new Dictionary<string, double> { ["top1"] = r.ValTop1, ["best_top1"] = best.ValTop1, ["best_flopsM"] = best.FlopsM },
                    EpochDone: t == Trials));
            }
        }
        return best;
    }

    private static bool Better(CandidateResult a, CandidateResult b) =>
        a.ValTop1 != b.ValTop1 ? a.ValTop1 > b.ValTop1 : a.ValLoss != b.ValLoss ? a.ValLoss < b.ValLoss : a.FlopsM < b.FlopsM;
}

/// <summary>
/// The SGNAS generator as a strategy: one call of a generating function (a forward pass of the trained generator
/// for the target), then one evaluation of the generated architecture with the same protocol as the baselines.
/// The generator's training time is reported once as <see cref="SetupSeconds"/>.
/// </summary>
public sealed class GeneratorSearchStrategy : ISearchStrategy
{
    private readonly Func<double[], SupernetPath[]> _generate;
    private readonly CandidateEvaluator _evaluator;

    /// <summary>Creates the strategy from a function giving architectures, each scored on its canonical prefix path.</summary>
    /// <param name="generate">Maps FLOPs targets (M) to one architecture each (e.g. a batched generator forward pass).</param>
    /// <param name="evaluator">Scores the generated architecture.</param>
    /// <param name="trainingSeconds">Generator training time, counted once for any number of constraints.</param>
    /// <param name="name">Strategy name for reports.</param>
    public GeneratorSearchStrategy(Func<double[], Architecture[]> generate, CandidateEvaluator evaluator, double trainingSeconds = 0, string name = "generator")
        : this(Canonical(generate, evaluator), evaluator, trainingSeconds, name)
    {
    }

    /// <summary>Creates the strategy from a function giving positional supernet paths (scored as such, docs/generator.md).</summary>
    /// <param name="generate">Maps FLOPs targets (M) to one path each.</param>
    /// <param name="evaluator">Scores the generated path.</param>
    /// <param name="trainingSeconds">Generator training time, counted once for any number of constraints.</param>
    /// <param name="name">Strategy name for reports.</param>
    public GeneratorSearchStrategy(Func<double[], SupernetPath[]> generate, CandidateEvaluator evaluator, double trainingSeconds = 0, string name = "generator")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!(trainingSeconds >= 0)) throw new ArgumentOutOfRangeException(nameof(trainingSeconds), trainingSeconds, "must be ≥ 0.");
        _generate = generate ?? throw new ArgumentNullException(nameof(generate));
        _evaluator = evaluator ?? throw new ArgumentNullException(nameof(evaluator));
        SetupSeconds = trainingSeconds;
        Name = name;
    }

    private static Func<double[], SupernetPath[]> Canonical(Func<double[], Architecture[]> generate, CandidateEvaluator evaluator)
    {
        ArgumentNullException.ThrowIfNull(generate);
        ArgumentNullException.ThrowIfNull(evaluator);
        return targets => generate(targets)?.Select(a => SupernetPath.FromArchitecture(evaluator.Preset, a.Canonical())).ToArray()!;
    }

    /// <summary>
    /// The strategy of a trained <see cref="ArchitectureGeneratorModel"/>: each search is one
    /// <see cref="ArchitectureGeneratorModel.Generate"/> call (one forward pass) for the target.
    /// </summary>
    /// <param name="model">The trained generator (not disposed by the strategy).</param>
    /// <param name="evaluator">Scores the generated architecture.</param>
    /// <param name="hardLimit">Repair architectures over their target until they fit (see <c>HardLimit</c>).</param>
    /// <param name="trainingSeconds">Generator training time, counted once.</param>
    public static GeneratorSearchStrategy FromModel(ArchitectureGeneratorModel model, CandidateEvaluator evaluator, bool hardLimit = false, double trainingSeconds = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(evaluator);
        if (model.Preset.ToJson() != evaluator.Preset.ToJson())
            throw new ArgumentException($"the generator was trained for preset '{model.Preset.Name}', the supernet uses '{evaluator.Preset.Name}' (or other settings).", nameof(model));
        // Scored on the positional path the generator optimised, not on the canonical form (docs/generator.md).
        return new GeneratorSearchStrategy(targets => model.Generate(targets, hardLimit).Select(g => g.Path!).ToArray(), evaluator, trainingSeconds)
        {
            Constraint = model.Kind == ConstraintKind.Flops ? null : model.Cost,
        };
    }

    /// <summary>
    /// The constraint the generating function answers when it is not FLOPs (a latency generator): its targets are
    /// then in ms, and results record <see cref="SearchResult.Kind"/> and the predicted <see cref="SearchResult.Cost"/>.
    /// </summary>
    public ConstraintCost? Constraint { get; init; }

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public double SetupSeconds { get; }

    /// <inheritdoc />
    public SearchResult Search(double targetFlopsM, CancellationToken cancellationToken = default, IProgress<TrainingProgress>? progress = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var clock = Stopwatch.StartNew();
        _evaluator.ClearCache();
        var generated = _generate(new[] { targetFlopsM });
        if (generated is null || generated.Length != 1)
            throw new InvalidOperationException($"the generator returned {generated?.Length ?? 0} architectures for 1 target.");
        var r = _evaluator.EvaluatePath(generated[0], cancellationToken);
        var exact = FlopsCounter.Count(_evaluator.Preset, r.Architecture).FlopsM;
        progress?.Report(new TrainingProgress($"{Name} <= {targetFlopsM.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} {Constraint?.Unit ?? "M"}", 1, 1, 1, 1,
            new Dictionary<string, double> { ["top1"] = r.ValTop1, ["flopsM"] = exact }, EpochDone: true));
        return new SearchResult(Name, targetFlopsM, r.Architecture, exact, r.ValTop1, r.ValLoss, clock.Elapsed.TotalSeconds, 1,
            new[] { new Trial(1, r.Architecture, r.FlopsM, r.ValTop1, r.ValLoss, r.Seconds) })
        {
            Path = generated[0], Kind = Constraint?.Kind ?? ConstraintKind.Flops, Cost = Constraint is null ? exact : Constraint.Of(r.Architecture),
        };
    }
}
