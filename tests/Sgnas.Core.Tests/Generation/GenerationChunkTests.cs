using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Generation;

public sealed class GenerationChunkTests
{
    [Theory]
    [InlineData(32)] // 256 budgets per pass: three passes
    [InlineData(8)]  // a narrower G takes 512 per pass: two
    public void AlphaInChunksEqualsOneForwardPassOverAllBudgets(int hidden)
    {
        // ArchitectureGeneratorModel.Alpha splits many budgets into chunks (issue 10); each sample is independent,
        // so the chunked α must equal G applied to the whole batch at once, in the same order.
        var preset = SearchSpacePreset.Load("fashion-small");
        var (low, high) = new FlopsLookupTable(preset).ConstraintInterval();
        using var model = new ArchitectureGeneratorModel(preset, ArchitectureGenerator.For(preset, hiddenChannels: hidden, seed: 4),
            PriorPool.Build(preset, low, high, 10, 4), low, high, new GeneratorOptions(), 5.0, null, CPU);
        var targets = ArchitectureGeneratorModel.EvenTargets(low, high, 700);
        using var chunked = model.Alpha(targets);
        using var _ = no_grad();
        using var prior = model.PriorPool.PriorBatch(targets);
        using var c = tensor(ConstraintNormalization.NormalizeAll(targets, low, high));
        using var whole = model.Generator.call(prior, c);
        Assert.Equal(whole.shape, chunked.shape);
        // Alpha runs the heads once per prior (ForwardShared): float sums in another order, ~1e-5 on α of magnitude ~4.
        Assert.True(whole.allclose(chunked, rtol: 1e-5, atol: 5e-5), $"chunked α differs from the one-pass α: max |Δ| = {(whole - chunked).abs().max().item<float>()}, max |α| = {whole.abs().max().item<float>()}");
        var generated = model.Generate(targets, calibrated: false);
        Assert.Equal(targets.Length, generated.Count);
        // Generate works out architecture, FLOPs, parameters and cost once per distinct path (many budgets share
        // one); every budget must still carry the facts of its own α's path.
        var table = new FlopsLookupTable(preset);
        var all = chunked.data<float>().ToArray();
        int per = (int)(all.Length / targets.Length);
        for (int i = 0; i < targets.Length; i++)
        {
            var path = AlphaDecoding.DecodePath(preset, all.AsSpan(i * per, per));
            var arch = path.ToArchitecture();
            Assert.Equal(path, generated[i].Path);
            Assert.Equal(arch, generated[i].Architecture);
            Assert.Equal(table.CostM(arch), generated[i].FlopsM);
            Assert.Equal(generated[i].FlopsM, generated[i].Cost);
            Assert.Equal(ParameterCount.ChildM(preset, arch), generated[i].ParamsM);
            Assert.Equal(targets[i], generated[i].TargetFlopsM);
        }
        Assert.True(generated.Select(g => g.Path).Distinct().Count() > 1, "the untrained generator decoded every budget to one path");
    }

    [Fact]
    public void SharedHeadsEqualTheForwardOnThePerBudgetPriorBatch()
    {
        // ForwardShared runs the prior head once per distinct prior and the constraint head on ±1 only (positive
        // homogeneity of a bias-free ReLU stack); α must equal the plain forward for constraints of both signs and 0.
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var preset = SearchSpacePreset.Load("fashion-small");
        using var g = ArchitectureGenerator.For(preset, seed: 7);
        g.eval();
        var (low, high) = new FlopsLookupTable(preset).ConstraintInterval();
        var pool = PriorPool.Build(preset, low, high, 5, 7);
        var priors = pool.AllPriors();
        var c = tensor(new float[] { -1.3f, -0.2f, 0f, 0.05f, 0.5f, 1f, 1.7f, 0.5f });
        var index = tensor(new long[] { 0, 4, 2, 2, 1, 3, 0, 4 });
        var shared = g.ForwardShared(priors, index, c);
        var plain = g.call(priors.index_select(0, index), c);
        Assert.Equal(plain.shape, shared.shape);
        Assert.True(plain.allclose(shared, rtol: 1e-5, atol: 5e-5), $"max |Δ| = {(plain - shared).abs().max().item<float>()}");
        // The same prior under constraints of opposite sign gives different α: the constraint head is not lost.
        Assert.False(shared[0].allclose(shared[6], rtol: 1e-3, atol: 1e-3));
    }
}
