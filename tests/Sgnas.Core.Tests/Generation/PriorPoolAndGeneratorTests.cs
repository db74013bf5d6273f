using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Generation;

public class PriorPoolTests
{
    private static readonly SearchSpacePreset Fashion = SearchSpacePreset.Load("fashion-small");

    [Fact]
    public void PriorsLieNearTheirBucketCentresWithExactFlops()
    {
        var table = new FlopsLookupTable(Fashion);
        var (low, high) = table.ConstraintInterval();
        var pool = PriorPool.Build(Fashion, low, high, buckets: 12, seed: 3);
        Assert.Equal(12, pool.Entries.Count);
        double bucket = (high - low) / 12;
        foreach (var e in pool.Entries)
        {
            Assert.True(Math.Abs(e.FlopsM - e.CenterM) <= bucket / 2, $"prior {e.FlopsM} M far from centre {e.CenterM} M");
            Assert.Equal(table.CostM(e.Architecture), e.FlopsM, 9);
            Assert.True(e.Architecture.Equals(e.Architecture.Canonical()));
        }
        // exact FLOPs agree with the counter on the built network
        var mid = pool.Entries[6];
        Assert.Equal(FlopsCounter.Count(Fashion, mid.Architecture).FlopsM, mid.FlopsM, 6);
        // centres increase and so do the priors' FLOPs
        Assert.True(pool.Entries.Zip(pool.Entries.Skip(1)).All(p => p.Second.FlopsM > p.First.FlopsM));
    }

    [Fact]
    public void SameSeedSamePool()
    {
        var a = PriorPool.Build(Fashion, 2, 4, 5, seed: 9);
        var b = PriorPool.Build(Fashion, 2, 4, 5, seed: 9);
        Assert.Equal(a.Entries.Select(e => e.Architecture), b.Entries.Select(e => e.Architecture));
    }

    [Fact]
    public void NearestPicksTheClosestPriorAndBatchesOneHots()
    {
        var pool = PriorPool.Build(Fashion, 2, 4, 4, seed: 1);
        var e = pool.Entries;
        Assert.Same(e[0], pool.Nearest(0));
        Assert.Same(e[^1], pool.Nearest(100));
        Assert.Same(e[2], pool.Nearest(e[2].FlopsM + 1e-6));
        using var batch = pool.PriorBatch(new[] { e[1].FlopsM, e[3].FlopsM });
        Assert.Equal(new long[] { 2, 1, Fashion.LayerCount, 24 }, batch.shape);
        Assert.Equal(e[3].Architecture.ToOneHot(Fashion), batch[1].flatten().data<float>().ToArray());
    }

    [Fact]
    public void JsonRoundTripAndPresetCheck()
    {
        var pool = PriorPool.Build(Fashion, 2, 4, 3, seed: 2);
        var json = System.Text.Json.Nodes.JsonNode.Parse(pool.ToJson().ToJsonString())!;
        var back = PriorPool.FromJson(json, Fashion);
        Assert.Equal(pool.Entries, back.Entries);
        var other = Fashion with { Name = "other", HeadChannels = 128 };
        Assert.Throws<InvalidDataException>(() => PriorPool.FromJson(json, other));
    }
}

public class ArchitectureGeneratorTests
{
    [Fact]
    public void OutputHasTheAlphaShapeAndBatchEqualsSingles()
    {
        var p = GeneratorTestData.Tiny();
        using var g = ArchitectureGenerator.For(p, seed: 4);
        var s = new ArchitectureSampler(p, 1);
        var archs = Enumerable.Range(0, 3).Select(_ => s.Sample()).ToArray();
        using var priors = tensor(archs.SelectMany(a => a.ToOneHot(p)).ToArray(), new long[] { 3, 1, p.LayerCount, 24 });
        using var c = tensor(new float[] { 0.1f, 0.5f, 0.9f });
        using var alpha = g.call(priors, c);
        Assert.Equal(new long[] { 3, p.LayerCount, 6, 4 }, alpha.shape);
        for (int n = 0; n < 3; n++)
        {
            using var one = g.call(priors[n].unsqueeze(0), c[n].unsqueeze(0));
            Assert.True(one[0].allclose(alpha[n], rtol: 1e-5, atol: 1e-6));
        }
        // the [N, L, 6, 4] form of the prior is accepted too
        using var alt = g.call(priors.reshape(3, p.LayerCount, 6, 4), c);
        Assert.True(alt.allclose(alpha));
        // the constraint matters
        using var c2 = tensor(new float[] { 0.9f, 0.5f, 0.1f });
        using var alpha2 = g.call(priors, c2);
        Assert.False(alpha2[0].allclose(alpha[0]));
    }

    [Fact]
    public void InitialisationFollowsTheSeed()
    {
        var p = GeneratorTestData.Tiny();
        using var a = ArchitectureGenerator.For(p, seed: 7);
        using var b = ArchitectureGenerator.For(p, seed: 7);
        using var c = ArchitectureGenerator.For(p, seed: 8);
        var pa = a.parameters().ToArray(); var pb = b.parameters().ToArray(); var pc = c.parameters().ToArray();
        Assert.Equal(11, pa.Length); // 3 + 2 head convs, head conv, 3 body convs (no bias), tail weight + bias
        Assert.True(pa.Zip(pb).All(t => t.First.equal(t.Second).all().item<bool>()));
        Assert.False(pa[0].equal(pc[0]).all().item<bool>());
    }

    [Fact]
    public void RejectsWrongShapes()
    {
        var p = GeneratorTestData.Tiny();
        using var g = ArchitectureGenerator.For(p);
        using var bad = zeros(2, 1, p.LayerCount, 20);
        Assert.Throws<ArgumentException>(() => g.call(bad, zeros(2)));
        using var prior = zeros(2, 1, p.LayerCount, 24);
        Assert.Throws<ArgumentException>(() => g.call(prior, zeros(3)));
    }
}

public class HardLimitAndParameterTests
{
    [Fact]
    public void RepairTakesTheReductionWithTheSmallestScoreLossPerFlop()
    {
        var p = GeneratorTestData.Tiny();
        var table = new FlopsLookupTable(p);
        int L = p.LayerCount;
        var alpha = new float[L * 24];
        for (int i = 0; i < L; i++) for (int j = 0; j < 6; j++) alpha[(i * 6 + j) * 4 + 2] = 1f; // k7 everywhere
        alpha[(1 * 6 + 5) * 4 + 3] = 0.99f; // layer 1, sub-block 5: skip almost as good as k7
        var largest = Architecture.Largest(p);
        Assert.Equal(largest, AlphaDecoding.Decode(p, alpha));
        double target = table.CostM(largest) - 1e-4;
        var (arch, repaired) = HardLimit.Apply(p, table, alpha, target);
        Assert.True(repaired);
        var expected = new Architecture(largest.Layers.Select((l, i) => i == 1 ? new LayerChoice(Enumerable.Repeat(7, 5)) : l));
        Assert.Equal(expected, arch);
        Assert.True(table.CostM(arch) <= target);
    }

    [Fact]
    public void RepairToTheSmallestArchitecturesExactCountNeverFailsOnRounding()
    {
        // On fashion-small the running sum of savings can end a rounding error above the smallest count; the repair
        // must still deliver the smallest architecture (it used to throw "found no reduction").
        var p = SearchSpacePreset.Load("fashion-small");
        var table = new FlopsLookupTable(p);
        var (min, _) = table.Range();
        var rnd = new Random(11);
        for (int t = 0; t < 200; t++)
        {
            var alpha = Enumerable.Range(0, p.LayerCount * p.MaxExpansion * p.OptionCount).Select(_ => (float)rnd.NextDouble()).ToArray();
            var (arch, repaired) = HardLimit.Apply(p, table, alpha, min);
            Assert.Equal(Architecture.Smallest(p), arch);
            Assert.True(table.CostM(arch) <= min);
            Assert.Equal(AlphaDecoding.Decode(p, alpha) != arch, repaired);
        }
    }

    [Fact]
    public void RepairReachesLowTargetsAndLeavesFittingArchitecturesAlone()
    {
        var p = GeneratorTestData.Tiny();
        var table = new FlopsLookupTable(p);
        var rnd = new Random(5);
        var alpha = Enumerable.Range(0, p.LayerCount * 24).Select(_ => (float)rnd.NextDouble()).ToArray();
        var plain = AlphaDecoding.Decode(p, alpha);
        var (same, repaired) = HardLimit.Apply(p, table, alpha, table.CostM(plain));
        Assert.False(repaired);
        Assert.Equal(plain, same);
        var (min, _) = table.Range();
        var (small, r2) = HardLimit.Apply(p, table, alpha, min);
        Assert.True(r2);
        Assert.Equal(Architecture.Smallest(p), small);
        Assert.Throws<ArgumentOutOfRangeException>(() => HardLimit.Apply(p, table, alpha, min - 0.01));
        var (_, max) = table.Range();
        for (int t = 0; t < 30; t++)
        {
            double target = min + rnd.NextDouble() * (max - min);
            var (a, r) = HardLimit.Apply(p, table, alpha, target);
            Assert.True(table.CostM(a) <= target, $"{a} costs {table.CostM(a)} > {target}");
            Assert.Equal(table.CostM(plain) > target, r);
        }
    }

    [Fact]
    public void DecodingCountsNonSkipSubBlocksAndMatchesEq9OfTheArgmaxMap()
    {
        var p = GeneratorTestData.Tiny();
        var table = new FlopsLookupTable(p);
        int L = p.LayerCount;
        var alpha = new float[L * 24];
        void Set(int layer, params int[] opts) { for (int j = 0; j < 6; j++) alpha[(layer * 6 + j) * 4 + opts[j]] = 1f; }
        Set(0, 0, 1, 3, 2, 3, 3);      // k3, k5, skip, k7, skip, skip: three active sub-blocks
        Set(1, 2, 2, 2, 2, 2, 2);
        Set(2, 0, 0, 3, 3, 3, 3);
        alpha[(2 * 6 + 1) * 4 + 3] = 5f; // skip is forbidden in sub-block 1: its best allowed option (k3) is taken
        var arch = AlphaDecoding.Decode(p, alpha);
        Assert.Equal("e3:3,5,7|e6:7,7,7,7,7,7|e2:3,3", arch.ToString());
        Assert.Equal("e2:3,5", Architecture.FromAlpha(p, alpha).Layers[0].ToString()); // the prefix rule would drop the k7
        // Eq. 9 of the argmax one-hot map equals the decoded architecture's FLOPs, for random maps too
        var rnd = new Random(3);
        for (int t = 0; t < 20; t++)
        {
            var a = Enumerable.Range(0, L * 24).Select(_ => (float)rnd.NextDouble()).ToArray();
            var opts = AlphaDecoding.ArgMaxOptions(p, a);
            var oneHot = new float[L * 24];
            for (int i = 0; i < opts.Length; i++) oneHot[i * 4 + opts[i]] = 1f;
            Assert.Equal(table.CostM(oneHot), table.CostM(AlphaDecoding.Decode(p, a)), 9);
        }
    }

    [Fact]
    public void AnalyticParameterCountEqualsTheBuiltNetwork()
    {
        foreach (var p in new[] { GeneratorTestData.Tiny(), SearchSpacePreset.Load("fashion-small") })
        {
            var s = new ArchitectureSampler(p, 11);
            foreach (var a in new[] { s.Sample(), s.Sample(), Architecture.Smallest(p), Architecture.Largest(p) })
                Assert.Equal(FlopsCounter.Count(p, a).Parameters, ParameterCount.Child(p, a));
        }
    }
}

public class GeneratorDataTests
{
    [Fact]
    public void ValidationSplitReadsSupernetOptionsDefensively()
    {
        var data = GeneratorTestData.Images(200, 3);
        var defaults = Sgnas.Generation.GeneratorData.ValidationIndices(data, null);
        Assert.Equal(20, defaults.Length); // 10% (stratified per class, rounded)
        var empty = Sgnas.Generation.GeneratorData.ValidationIndices(data, System.Text.Json.Nodes.JsonNode.Parse("{\"other\":1}"));
        Assert.Equal(defaults, empty);
        var node = System.Text.Json.Nodes.JsonNode.Parse("{\"validationFraction\":0.25,\"seed\":3,\"maxTrainImages\":100,\"dataPath\":\"/x\"}");
        var custom = Sgnas.Generation.GeneratorData.ValidationIndices(data, node);
        Assert.Equal(25, custom.Length);
        Assert.NotEqual(defaults.Take(20), custom.Take(20));
        Assert.Equal(custom.Take(7), Sgnas.Generation.GeneratorData.ValidationIndices(data, node, maxImages: 7));
        Assert.Equal("/x", Sgnas.Generation.GeneratorData.DataPath(node));
        Assert.Null(Sgnas.Generation.GeneratorData.DataPath(null));
    }
}
