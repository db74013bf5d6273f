using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Generation;

public sealed class GenerationChunkTests
{
    [Fact]
    public void AlphaInChunksEqualsOneForwardPassOverAllBudgets()
    {
        // ArchitectureGeneratorModel.Alpha splits many budgets into chunks (issue 10); each sample is independent,
        // so the chunked α must equal G applied to the whole batch at once, in the same order.
        var preset = SearchSpacePreset.Load("fashion-small");
        var (low, high) = new FlopsLookupTable(preset).ConstraintInterval();
        using var model = new ArchitectureGeneratorModel(preset, ArchitectureGenerator.For(preset, seed: 4),
            PriorPool.Build(preset, low, high, 10, 4), low, high, new GeneratorOptions(), 5.0, null, CPU);
        var targets = ArchitectureGeneratorModel.EvenTargets(low, high, 700);
        using var chunked = model.Alpha(targets);
        using var _ = no_grad();
        using var prior = model.PriorPool.PriorBatch(targets);
        using var c = tensor(ConstraintNormalization.NormalizeAll(targets, low, high));
        using var whole = model.Generator.call(prior, c);
        Assert.Equal(whole.shape, chunked.shape);
        Assert.True(whole.allclose(chunked, rtol: 1e-5, atol: 1e-6), "chunked α differs from the one-pass α");
        var generated = model.Generate(targets);
        Assert.Equal(targets.Length, generated.Count);
        for (int i = 0; i < targets.Length; i += 97)
        {
            var a = whole[i].data<float>().ToArray();
            Assert.Equal(AlphaDecoding.Decode(preset, a), generated[i].Architecture);
        }
    }
}
