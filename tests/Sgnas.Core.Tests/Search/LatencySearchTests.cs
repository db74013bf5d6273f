using Sgnas.Core.Tests.Generation;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Search;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Search;

/// <summary>Random search, evolution and UNAS under millisecond budgets (docs/latency.md, docs/unas.md).</summary>
public class LatencySearchTests
{
    public LatencySearchTests() => set_num_threads(1);

    private static (ConstraintCost Cost, double Budget) LatencyBudget(SearchSpacePreset p, double fraction = 0.4)
    {
        var cost = ConstraintCost.Create(ConstraintKind.Latency, p, LatencyTables.Realistic(p, 6));
        var (min, max) = cost.Range();
        return (cost, min + fraction * (max - min));
    }

    [Fact]
    public void RandomAndEvolutionProposalsMeetAMillisecondBudget()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var (cost, budget) = LatencyBudget(p, 0.15);
        var constraint = new BudgetConstraint(cost, budget);
        var random = new RandomSearch(new ArchitectureSearchSpace(p), constraint, new RandomSearchOptions { Evaluations = 30, Seed = 1 });
        var evolution = new EvolutionSearch(p, constraint, new EvolutionSearchOptions { Population = 6, Iterations = 3, TopK = 3, Seed = 1 });
        for (int i = 0; i < 18; i++)
        {
            var a = random.Propose();
            Assert.True(cost.Of(a) <= budget + 1e-9, $"{a}: {cost.Of(a)} ms over {budget} ms");
            random.Update(a, i);
            var b = evolution.Propose();
            Assert.True(cost.Of(b) <= budget + 1e-9, $"{b}: {cost.Of(b)} ms over {budget} ms");
            evolution.Update(b, i);
        }
        // over-budget draws are shrunk by the latency they cost
        var shrunk = constraint.ShrinkToFit(Architecture.Largest(p), new Random(3));
        Assert.NotNull(shrunk);
        Assert.True(constraint.IsSatisfiedBy(shrunk!));
        var infeasible = new BudgetConstraint(cost, cost.Range().Min * 0.5);
        Assert.Null(infeasible.ShrinkToFit(Architecture.Largest(p), new Random(3)));
        Assert.Contains(" ms", infeasible.NotFound(10).Message);
    }

    [Fact]
    public void TunerStrategyRecordsTheKindAndTheJudgedCost()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 16, validation: 12);
        var (cost, budget) = LatencyBudget(net.Preset, 0.5);
        var r = TunerSearchStrategy.Random(ev, new RandomSearchOptions { Evaluations = 4, Seed = 2 }, cost).Search(budget);
        Assert.Equal(ConstraintKind.Latency, r.Kind);
        Assert.Equal(cost.Of(r.Architecture), r.Cost!.Value, 12);
        Assert.True(r.WithinTarget);
        Assert.Equal(Budget.Milliseconds(budget), r.Budget);
        Assert.All(r.Trials, t => Assert.True(cost.Of(t.Architecture) <= budget + 1e-9));
        var s = TunerSearchStrategy.Evolution(ev, new EvolutionSearchOptions { Population = 4, Iterations = 1, TopK = 2, Seed = 2 }, cost).Search(budget);
        Assert.Equal(ConstraintKind.Latency, s.Kind);
        Assert.True(s.WithinTarget);
        // an over-budget cost recorded as such
        Assert.False((r with { Cost = budget * 2 }).WithinTarget);
    }

    [Fact]
    public void MeasuredLatencyJudgesCandidatesAndIsMeasuredOncePerArchitecture()
    {
        var p = SearchFixtures.Tiny();
        using var runtime = new TorchLatencyRuntime();
        var measured = new MeasuredLatencyCost(p, runtime, new LatencyMeasurementOptions { Warmup = 1, Repetitions = 3, MinSampleMs = 0 });
        var a = Architecture.Smallest(p);
        double ms = measured.Of(a);
        Assert.True(ms > 0 && double.IsFinite(ms));
        Assert.Equal(ms, measured.Of(a));
        Assert.Equal(1, measured.Measured);
        Assert.False(measured.IsDifferentiable);
        Assert.Throws<NotSupportedException>(() => measured.Of(zeros(1, p.LayerCount, p.MaxExpansion, p.OptionCount)));
        // a budget far above anything in the tiny space: every draw qualifies on its measurement
        var c = new BudgetConstraint(measured, 1000);
        var random = new RandomSearch(new ArchitectureSearchSpace(p), c, new RandomSearchOptions { Evaluations = 3, Seed = 1 });
        var picks = Enumerable.Range(0, 3).Select(_ => { var x = random.Propose(); random.Update(x, 0); return x; }).ToList();
        Assert.All(picks, x => Assert.True(measured.Of(x) <= 1000));
        Assert.True(measured.Measured >= 2);
    }

    [Fact]
    public void UnasScoresItsPickOnThePositionalPathUnderAMillisecondBudget()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 16, validation: 12);
        var images = SearchFixtures.Images();
        using var data = UnasData.Create(images, DataSplit.TrainValidation(images, 0.375, seed: 0), ChannelNormalization.Identity(1), 16, 64, 1, CPU);
        var (cost, _) = LatencyBudget(net.Preset);
        var (min, max) = cost.Range();
        // with a dominant budget term the pick lands at the budget: here the smallest architecture's latency
        var s = new UnasSearchStrategy(ev, data, new UnasOptions { Steps = 30, SamplesPerStep = 4, LearningRate = 0.5, CostWeight = 100, SurrogateArchitectures = 100, Seed = 1 }, cost);
        var r = s.Search(min);
        Assert.Equal(ConstraintKind.Latency, r.Kind);
        Assert.NotNull(r.Path);
        Assert.Equal(r.Architecture, r.Path!.ToArchitecture());
        Assert.Equal(cost.Of(r.Architecture), r.Cost!.Value, 12);
        Assert.True((r.Cost.Value - min) / (max - min) < 0.1, $"picked {r.Architecture} at {r.Cost} ms for {min} ms");
        // the reported score is the positional path's under the common protocol
        ev.ClearCache();
        var again = ev.EvaluatePath(r.Path);
        Assert.Equal(again.ValTop1, r.ValTop1, 12);
        Assert.Equal(again.ValLoss, r.ValLoss, 9);
    }

    [Fact]
    public void DecodePathKeepsPositionsAndDecodeIsItsArchitecture()
    {
        var p = SearchFixtures.Tiny();
        var a = ArchitectureCodec.Parse("e3:3,5,7|e2:3,7", p);
        var m = a.ToOneHot(p);
        int o = p.OptionCount;
        m[2 * o + 2] = 0; m[2 * o + p.SkipIndex] = 1;            // sub-block 2: k7 -> skip
        m[4 * o + p.SkipIndex] = 0; m[4 * o + 2] = 1;            // sub-block 4: skip -> k7 (middle skips at 2 and 3)
        using var z = tensor(m, new long[] { p.LayerCount * p.MaxExpansion, o });
        var path = UnasSearchStrategy.DecodePath(p, z);
        Assert.Equal(2, path.MiddleSkips(0));
        Assert.Equal(p.SkipIndex, path.Layer(0)[2]);
        Assert.Equal(a, path.ToArchitecture());
        Assert.Equal(a, UnasSearchStrategy.Decode(p, z));
    }
}
