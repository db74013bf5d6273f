using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.SearchSpace;

namespace Sgnas.Search;

/// <summary>One architecture of a ranking measurement.</summary>
/// <param name="Architecture">The (canonical) architecture.</param>
/// <param name="FlopsM">Its FLOPs in M.</param>
/// <param name="SupernetTop1">Validation top-1 with weights inherited from the supernet, after BN recalibration.</param>
/// <param name="StandaloneTop1">Top-1 of the same architecture trained from scratch, on the same validation images.</param>
/// <param name="StandaloneSeconds">Wall time of its stand-alone training and evaluation.</param>
public sealed record RankingPoint(Architecture Architecture, double FlopsM, double SupernetTop1, double StandaloneTop1, double StandaloneSeconds);

/// <summary>Rank agreement between supernet-inherited and stand-alone accuracy over a set of architectures.</summary>
/// <param name="Points">One point per architecture, in FLOPs order.</param>
/// <param name="KendallTau">Kendall τ-b of (supernet top-1, stand-alone top-1): the field's supernet ranking measure.</param>
/// <param name="Pearson">Pearson r of the same pairs.</param>
/// <param name="FlopsKendallTau">Kendall τ-b of (FLOPs, stand-alone top-1): how much of the ranking FLOPs alone explain.</param>
public sealed record RankingResult(IReadOnlyList<RankingPoint> Points, double KendallTau, double Pearson, double FlopsKendallTau);

/// <summary>
/// The supernet ranking measure used across one-shot NAS (e.g. the SPOS and FairNAS line of work): Kendall τ between
/// the validation accuracy of architectures with inherited supernet weights (after BN recalibration, the same
/// protocol every search strategy scores with) and the accuracy of the same architectures trained from scratch.
/// A supernet that ranks well makes any search on it meaningful; τ near 0 means searching it is a lottery
/// (docs/generator.md section 4). Stand-alone training is a caller-supplied function (short retraining is the norm on
/// a budget; the caller states it).
/// </summary>
public static class SupernetRanking
{
    /// <summary>
    /// <paramref name="count"/> distinct architectures spread evenly over the FLOPs range of the whole space: the i-th
    /// aims at the centre of the i-th of <paramref name="count"/> equal FLOPs buckets between the smallest and the
    /// largest architecture, reached from a seeded random architecture by the prior pool's local search
    /// (<see cref="PriorPool.Build(ConstraintCost, double, double, int, int, int)"/>), so each one is a random-looking
    /// network, not a uniform stack. Even FLOPs spacing, rather than the quantiles of a random sample, puts networks
    /// that differ in capacity into the measure (a random sample piles up in the middle of the range, where inherited
    /// and stand-alone accuracies differ by less than their noise; docs/generator.md section 4).
    /// </summary>
    /// <param name="preset">The search space.</param>
    /// <param name="count">Number of architectures (at least 2).</param>
    /// <param name="seed">Seed of the random starting points.</param>
    /// <param name="maxTries">Local-search moves per architecture.</param>
    public static IReadOnlyList<Architecture> SpreadArchitectures(SearchSpacePreset preset, int count, int seed = 0, int maxTries = 2000)
    {
        ArgumentNullException.ThrowIfNull(preset);
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "a ranking needs at least 2 architectures.");
        var cost = ConstraintCost.Create(ConstraintKind.Flops, preset);
        var (min, max) = cost.Range();
        var archs = PriorPool.Build(cost, min, max, count, seed, maxTries).Entries.Select(e => e.Architecture).ToArray();
        int distinct = archs.Distinct().Count();
        if (distinct < count)
            throw new InvalidOperationException($"the space of '{preset.Name}' gave only {distinct} distinct architectures over {count} FLOPs buckets; ask for fewer.");
        return archs;
    }

    /// <summary>
    /// Scores every architecture with <paramref name="evaluator"/> (inherited weights, BN recalibration) and with
    /// <paramref name="standaloneTop1"/> (training from scratch), and returns the rank agreement.
    /// </summary>
    /// <param name="evaluator">The supernet evaluator (its validation subset should be the images the stand-alone accuracy is measured on).</param>
    /// <param name="architectures">At least 2 architectures.</param>
    /// <param name="standaloneTop1">Trains one architecture from scratch and returns its validation top-1.</param>
    /// <param name="done">Points already measured (resume): architectures found here are not measured again.</param>
    /// <param name="onPoint">Called after each newly measured point (e.g. to persist it).</param>
    /// <param name="cancellationToken">Checked between architectures.</param>
    public static RankingResult Measure(CandidateEvaluator evaluator, IReadOnlyList<Architecture> architectures,
        Func<Architecture, CancellationToken, double> standaloneTop1, IReadOnlyDictionary<Architecture, RankingPoint>? done = null,
        Action<RankingPoint>? onPoint = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        ArgumentNullException.ThrowIfNull(architectures);
        ArgumentNullException.ThrowIfNull(standaloneTop1);
        if (architectures.Count < 2) throw new ArgumentException("a ranking needs at least 2 architectures.", nameof(architectures));
        var points = new List<RankingPoint>(architectures.Count);
        foreach (var raw in architectures)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var arch = raw.Canonical();
            if (done is not null && done.TryGetValue(arch, out var old)) { points.Add(old); continue; }
            var s = evaluator.Evaluate(arch, cancellationToken);
            var clock = Stopwatch.StartNew();
            double top1 = standaloneTop1(arch, cancellationToken);
            var p = new RankingPoint(arch, s.FlopsM, s.ValTop1, top1, clock.Elapsed.TotalSeconds);
            points.Add(p);
            onPoint?.Invoke(p);
        }
        return Summarize(points);
    }

    /// <summary>Correlations of measured points (sorted by FLOPs).</summary>
    public static RankingResult Summarize(IReadOnlyList<RankingPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var sorted = points.OrderBy(p => p.FlopsM).ToList();
        var sup = sorted.Select(p => p.SupernetTop1).ToArray();
        var alone = sorted.Select(p => p.StandaloneTop1).ToArray();
        return new RankingResult(sorted, Correlation.KendallTau(sup, alone), Correlation.Pearson(sup, alone),
            Correlation.KendallTau(sorted.Select(p => p.FlopsM).ToArray(), alone));
    }
}

/// <summary>
/// Stand-alone accuracy for <see cref="SupernetRanking.Measure"/>: trains an architecture from scratch with
/// <see cref="Training.ArchitectureRetrainer"/> on a training subset and returns its top-1 on the validation images
/// (the retrainer's test set). Each architecture trains in its own folder under a root, so an interrupted measurement
/// resumes: a finished architecture's <c>metrics.json</c> is read back, an unfinished one resumes from its checkpoint.
/// </summary>
public sealed class StandaloneTraining
{
    private readonly SearchSpacePreset _preset;
    private readonly Data.ImageDataset _train;
    private readonly Data.ImageDataset _validation;
    private readonly Training.RetrainOptions _options;
    private readonly string _root;
    private readonly IProgress<Training.TrainingProgress>? _progress;

    /// <summary>Creates the trainer.</summary>
    /// <param name="preset">Search space.</param>
    /// <param name="train">Training images (e.g. a subset of the supernet's training split).</param>
    /// <param name="validation">Images the top-1 is measured on (e.g. the supernet evaluator's validation subset).</param>
    /// <param name="options">Retraining options (epochs, batch, …); <see cref="Training.RetrainOptions.ValidationFraction"/> 0 is
    /// sensible, as the last epoch is measured.</param>
    /// <param name="root">Folder receiving one sub-folder per architecture.</param>
    /// <param name="progress">Per-step progress of each retraining.</param>
    public StandaloneTraining(SearchSpacePreset preset, Data.ImageDataset train, Data.ImageDataset validation, Training.RetrainOptions options,
        string root, IProgress<Training.TrainingProgress>? progress = null)
    {
        _preset = preset ?? throw new ArgumentNullException(nameof(preset));
        _train = train ?? throw new ArgumentNullException(nameof(train));
        _validation = validation ?? throw new ArgumentNullException(nameof(validation));
        _options = (options ?? throw new ArgumentNullException(nameof(options))) with { Resume = true };
        _options.Validate();
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = root;
        _progress = progress;
    }

    /// <summary>Folder of one architecture: a stable hash of its text, so the same architecture maps to the same folder.</summary>
    public string FolderOf(Architecture arch)
    {
        var text = arch.Canonical().ToString();
        var hash = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text)))[..12].ToLowerInvariant();
        return Path.Combine(_root, hash);
    }

    /// <summary>Trains (or resumes, or reads back) <paramref name="arch"/> and returns its validation top-1.</summary>
    public double Top1(Architecture arch, CancellationToken cancellationToken = default)
    {
        string dir = FolderOf(arch);
        var folder = new IO.RetrainFolder(dir);
        if (File.Exists(folder.Metrics))
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(folder.Metrics));
            if (node?["architecture"]?.GetValue<string>() == arch.Canonical().ToString() && node["testTop1"] is { } t)
                return t.GetValue<double>();
        }
        var m = new Training.ArchitectureRetrainer(_preset, arch, _options).Run(_train, _validation, dir, _progress, cancellationToken);
        return m.TestTop1 ?? throw new InvalidOperationException($"{dir}: retraining gave no top-1 on the validation images.");
    }
}
