using Sgnas.Search;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Search;

/// <summary>Scoring positional supernet paths (issue 9 part 1: the generator's pick is scored on the path it optimised).</summary>
public class PathEvaluationTests
{
    [Fact]
    public void CanonicalPrefixPathScoresAsItsArchitecture()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        var arch = ArchitectureCodec.Parse("e3:3,5,7|e2:5,7", net.Preset);
        var a = ev.Evaluate(arch);
        int before = ev.Evaluations;
        var b = ev.EvaluatePath(SupernetPath.FromArchitecture(net.Preset, arch));
        Assert.Equal(before, ev.Evaluations); // served from the cache: the same candidate
        Assert.Equal(a.ValTop1, b.ValTop1);
        Assert.Equal(a.ValLoss, b.ValLoss);
    }

    [Fact]
    public void MiddleSkipPathIsRecalibratedOnItselfAndScoredIndependentlyOfThePreviousCandidate()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        var path = SupernetPath.Parse("7,3,-,5,-,3|5,3,-,-,7,-", net.Preset);
        Assert.False(path.IsPrefix);
        var first = ev.EvaluatePath(path);
        ev.Evaluate(ArchitectureCodec.Parse("e6:7,7,7,7,7,7|e6:7,7,7,7,7,7", net.Preset));
        var again = ev.EvaluatePath(path);
        Assert.Equal(first.ValLoss, again.ValLoss, 6);
        Assert.Equal(path.ToArchitecture(), first.Architecture);
        // A different network from its compacted prefix path, which has the same architecture.
        var compact = ev.EvaluatePath(path.Compacted());
        Assert.Equal(first.Architecture, compact.Architecture);
        Assert.NotEqual(first.ValLoss, compact.ValLoss);

        // Recalibration on the path: the same batch twice gives the same statistics (cumulative average).
        using var x = randn(16, 1, 8, 8);
        using var probe = randn(4, 1, 8, 8);
        BnRecalibration.Recalibrate(net, path, new[] { x });
        using var y1 = net.ForwardPath(probe, path);
        BnRecalibration.Recalibrate(net, path, new[] { x, x });
        using var y2 = net.ForwardPath(probe, path);
        Assert.True(y1.allclose(y2, rtol: 1e-4, atol: 1e-5));
        Assert.False(net.training);
    }

    [Fact]
    public void GeneratorStrategyScoresTheGivenPath()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        var path = SupernetPath.Parse("7,3,-,5,-,-|5,3,3,-,-,-", net.Preset);
        var expected = ev.EvaluatePath(path);
        var g = new GeneratorSearchStrategy(t => t.Select(_ => path).ToArray(), ev);
        var r = g.Search(5.0);
        Assert.Equal(path, r.Path);
        Assert.Equal(expected.ValLoss, r.ValLoss, 6);
        Assert.Equal(path.ToArchitecture(), r.Architecture);
    }
}

/// <summary>A search interrupted mid-way resumes from its journal and ends as the uninterrupted search.</summary>
public class CandidateJournalTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-journal-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void InterruptedSearchResumesWithoutRescoringAndEndsTheSame()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        var options = new EvolutionSearchOptions { Population = 4, Iterations = 3, TopK = 2, Seed = 3 };
        double target = (ev.Table.Range().Min + ev.Table.Range().Max) / 2;
        var plain = TunerSearchStrategy.Evolution(ev, options).Search(target);

        string path = Path.Combine(_dir, "evo.jsonl");
        using var cts = new CancellationTokenSource();
        var strategy = new TunerSearchStrategyWithJournal(ev, options, path);
        var progress = new SyncProgress(p => { if (p.Step == 5) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => strategy.Build().Search(target, cts.Token, progress));
        int recorded = new CandidateJournal(path, net.Preset).Count;
        Assert.InRange(recorded, 1, 5);

        int before = ev.Evaluations;
        var resumed = strategy.Build().Search(target);
        Assert.Equal(plain.Architecture, resumed.Architecture);
        Assert.Equal(plain.ValTop1, resumed.ValTop1);
        Assert.Equal(plain.Evaluated, resumed.Evaluated);
        // Only the candidates the first attempt did not reach were scored again.
        Assert.Equal(plain.Evaluated - recorded, ev.Evaluations - before);
    }

    private sealed class TunerSearchStrategyWithJournal(CandidateEvaluator ev, EvolutionSearchOptions o, string path)
    {
        public TunerSearchStrategy Build() => new("evolution",
            t => new EvolutionSearch(ev.Preset, new FlopsConstraint(ev.Table, t), o with { Seed = TunerSearchStrategy.SeedFor(o.Seed, t) }),
            o.TotalEvaluations, ev) { Journal = _ => new CandidateJournal(path, ev.Preset) };
    }

    private sealed class SyncProgress(Action<Sgnas.Training.TrainingProgress> on) : IProgress<Sgnas.Training.TrainingProgress>
    {
        public void Report(Sgnas.Training.TrainingProgress value) => on(value);
    }
}
