using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Search;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Search;

/// <summary>UNAS as a strategy on the tiny supernet (docs/unas.md). One libtorch thread: on a loaded 2-core machine
/// the multi-threaded small ops of the relaxed supernet are many times slower than single-threaded ones.</summary>
public class UnasSearchStrategyTests
{
    // Not restored afterwards, as in the trainer tests: restoring could change the thread count in the middle of
    // another test class that runs in parallel and relies on one thread for bit-identical results.
    public UnasSearchStrategyTests() => set_num_threads(1);

    private static UnasData Data(int batch = 16)
    {
        var images = SearchFixtures.Images();
        var split = DataSplit.TrainValidation(images, 0.375, seed: 0);
        return UnasData.Create(images, split, ChannelNormalization.Identity(1), batch, 64, 1, CPU);
    }

    [Fact]
    public void DecodeTakesTheNonSkipSubBlocksAndInvertsTheOneHotMap()
    {
        var p = SearchFixtures.Tiny();
        var a = ArchitectureCodec.Parse("e3:3,5,7|e2:3,7", p);
        using var z = tensor(a.ToOneHot(p), new long[] { p.LayerCount * p.MaxExpansion, p.OptionCount });
        Assert.Equal(a, UnasSearchStrategy.Decode(p, z));
        // a skip inside the active set: the remaining sub-blocks still count (layer 0 has kernels 3, 5 and 7 active)
        var m = a.ToOneHot(p);
        int o = p.OptionCount;
        m[2 * o + 2] = 0; m[2 * o + p.SkipIndex] = 1;            // sub-block 2: k7 -> skip
        m[4 * o + p.SkipIndex] = 0; m[4 * o + 2] = 1;            // sub-block 4: skip -> k7
        using var z2 = tensor(m, new long[] { p.LayerCount * p.MaxExpansion, o });
        Assert.Equal(a, UnasSearchStrategy.Decode(p, z2));
        // forced sampling's mask: skip forbidden in the first MinExpansion sub-blocks of every layer
        using var mask = UnasSearchStrategy.RowMask(p);
        Assert.Equal(0f, mask[0, p.SkipIndex].item<float>());
        Assert.Equal(0f, mask[p.MaxExpansion + 1, p.SkipIndex].item<float>());
        Assert.Equal(1f, mask[p.MaxExpansion + 2, p.SkipIndex].item<float>());
    }

    [Fact]
    public void LinearSurrogateIsExactForFlopsBecauseEq9IsLinearInTheChoices()
    {
        var p = SearchFixtures.Tiny();
        var table = new FlopsLookupTable(p);
        var sampler = new ArchitectureSampler(p, 2);
        var archs = Enumerable.Range(0, 60).Select(_ => sampler.Sample()).ToList();
        int rows = p.LayerCount * p.MaxExpansion;
        using var z = tensor(archs.SelectMany(a => a.ToOneHot(p)).ToArray(), new long[] { archs.Count, rows, p.OptionCount }, dtype: float64);
        var g = UnasSurrogate.Fit(z, archs.Select(table.CostM).ToArray());
        Assert.True(g.RSquared > 0.999999, $"R² {g.RSquared}");
        var fresh = sampler.Sample();
        using var zf = tensor(fresh.ToOneHot(p), new long[] { 1, rows, p.OptionCount }, dtype: float64);
        Assert.Equal(table.CostM(fresh), g.Apply(zf).item<double>(), 4);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void WithADominantBudgetTermTheSearchFindsTheArchitectureAtTheBudget(bool largest)
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 16, validation: 12);
        using var data = Data();
        var (min, max) = ev.Table.Range();
        // Only the largest (smallest) architecture meets a budget at the top (bottom) of the range exactly.
        double target = largest ? max : min;
        var s = new UnasSearchStrategy(ev, data, new UnasOptions { Steps = 40, SamplesPerStep = 4, LearningRate = 0.5, CostWeight = 100, SurrogateArchitectures = 100, Seed = 1 });
        var r = s.Search(target);
        Assert.Equal("unas", r.Strategy);
        Assert.Equal(1, r.Evaluated);
        Assert.Equal(FlopsCounter.Count(net.Preset, r.Architecture).FlopsM, r.FlopsM, 9);
        var extreme = largest ? Architecture.Largest(net.Preset) : Architecture.Smallest(net.Preset);
        double gap = Math.Abs(r.FlopsM - target) / (max - min);
        Assert.True(gap < 0.1, $"picked {r.Architecture} ({r.FlopsM:F4} M) for a budget of {target:F4} M (extreme {extreme})");
        Assert.Equal(s.Options.Steps, s.LastLossHistory.Count);
        Assert.True(s.LastLossHistory.TakeLast(5).Average() < s.LastLossHistory.Take(5).Average(), "the sampled loss falls");
    }

    [Fact]
    public void SearchLeavesTheSupernetAsItWasAndRunsTheGeneralisationObjective()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 16, validation: 12);
        using var data = Data();
        var bns = BnRecalibration.BatchNorms(net);
        var before = bns.Select(b => b.running_mean!.clone()).ToList();
        var momenta = bns.Select(b => b.momentum).ToList();
        var (min, max) = ev.Table.Range();
        var s = new UnasSearchStrategy(ev, data, new UnasOptions { Steps = 2, SamplesPerStep = 2, Objective = UnasObjective.Generalization, SurrogateArchitectures = 20, Seed = 2 });
        // the evaluator recalibrates BNs for the pick; compare the state right after the search by evaluating nothing else
        var r = s.Search(0.5 * (min + max));
        Assert.True(double.IsFinite(r.ValLoss));
        Assert.Equal(momenta, bns.Select(b => b.momentum).ToList());
        Assert.All(net.parameters(), q => Assert.True(q.requires_grad));
        Assert.False(net.training);
        Assert.All(s.LastLossHistory, l => Assert.True(double.IsFinite(l)));
        foreach (var b in before) b.Dispose();
    }
}
