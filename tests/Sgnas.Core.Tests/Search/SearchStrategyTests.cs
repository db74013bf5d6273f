using Sgnas.Cost;
using Sgnas.Search;
using Sgnas.SearchSpace;

namespace Sgnas.Core.Tests.Search;

public class SearchStrategyTests
{
    [Fact]
    public void TunerStrategiesReturnTheBestScoredCandidateWithinTheTarget()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 16, validation: 12);
        var (min, max) = ev.Table.Range();
        double target = min + 0.5 * (max - min);
        foreach (var s in new[]
                 {
                     TunerSearchStrategy.Random(ev, new RandomSearchOptions { Evaluations = 5, Seed = 1 }),
                     TunerSearchStrategy.Evolution(ev, new EvolutionSearchOptions { Population = 3, Iterations = 2, TopK = 2, Seed = 1 }),
                 })
        {
            var r = s.Search(target);
            Assert.Equal(s.Name, r.Strategy);
            Assert.True(r.WithinTarget, $"{s.Name}: {r.FlopsM} M > {target} M");
            Assert.Equal(FlopsCounter.Count(net.Preset, r.Architecture).FlopsM, r.FlopsM, 9);
            Assert.Equal(s.Trials, r.Trials.Count);
            Assert.InRange(r.Evaluated, 1, s.Trials);
            Assert.Equal(r.Trials.Max(t => t.ValTop1), r.ValTop1);
            Assert.All(r.Trials, t => Assert.True(t.FlopsM <= target + 1e-9));
            Assert.True(r.Seconds > 0);
        }
    }

    [Fact]
    public void GeneratorStrategyEvaluatesOneGeneratedArchitectureWithTheSameProtocol()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 16, validation: 12);
        var arch = ArchitectureCodec.Parse("e3:3,5,7|e2:3,7", net.Preset);
        double[]? asked = null;
        var g = new GeneratorSearchStrategy(t => { asked = t; return new[] { arch }; }, ev, trainingSeconds: 42);
        var r = g.Search(1.5);
        Assert.Equal(new[] { 1.5 }, asked);
        Assert.Equal(arch, r.Architecture);
        Assert.Equal(1, r.Evaluated);
        Assert.Equal(42, ((ISearchStrategy)g).SetupSeconds);
        ev.ClearCache();
        Assert.Equal(ev.Evaluate(arch).ValTop1, r.ValTop1, 12);
    }

    [Fact]
    public void HarnessRunsEveryStrategyForEveryTargetAndCountsSetupOnce()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 16, validation: 12);
        var (min, max) = ev.Table.Range();
        var targets = new[] { min + 0.3 * (max - min), min + 0.7 * (max - min) };
        var strategies = new ISearchStrategy[]
        {
            TunerSearchStrategy.Random(ev, new RandomSearchOptions { Evaluations = 3 }),
            new GeneratorSearchStrategy(t => t.Select(_ => Architecture.Smallest(net.Preset)).ToArray(), ev, trainingSeconds: 100),
        };
        var result = new ComparisonHarness(ev, strategies).Run(targets, randomPoints: 4, seed: 2);
        Assert.Equal(4, result.Results.Count);
        Assert.Equal(new[] { "random", "random", "generator", "generator" }, result.Results.Select(r => r.Strategy));
        Assert.Equal(targets.Concat(targets), result.Results.Select(r => r.TargetFlopsM));
        Assert.Equal(4, result.RandomPoints.Count);
        var gen = result.Totals.Single(t => t.Strategy == "generator");
        Assert.Equal(2, gen.Constraints);
        Assert.Equal(100 + result.Results.Where(r => r.Strategy == "generator").Sum(r => r.Seconds), gen.TotalSeconds, 9);
        Assert.Equal(0, result.Totals.Single(t => t.Strategy == "random").SetupSeconds);
        Assert.Throws<ArgumentException>(() => new ComparisonHarness(ev, new[] { strategies[0], strategies[0] }));
    }
}
