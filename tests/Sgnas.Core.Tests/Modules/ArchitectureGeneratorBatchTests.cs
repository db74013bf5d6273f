using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Modules;

/// <summary>
/// G treats every sample of a batch independently, so a batch must give each sample's own α and, for a sum of
/// per-sample losses, the sum of the per-sample gradients. libtorch's NCHW 3×3 convolution broke both on this
/// project's CPU (the 32 → 1 tail's input gradient, 24-channel outputs); these invariants catch any such kernel.
/// </summary>
public sealed class ArchitectureGeneratorBatchTests
{
    private static (Tensor Prior, Tensor C) Inputs(SearchSpacePreset preset, int n, int seed)
    {
        var (low, high) = new FlopsLookupTable(preset).ConstraintInterval();
        var pool = PriorPool.Build(preset, low, high, 4, seed);
        var r = new Random(seed);
        var targets = Enumerable.Range(0, n).Select(_ => low + r.NextDouble() * (high - low)).ToArray();
        return (pool.PriorBatch(targets), tensor(ConstraintNormalization.NormalizeAll(targets, low, high)));
    }

    [Fact]
    public void BatchGradientsAreTheSumOfPerSampleGradients()
    {
        using var scope = NewDisposeScope();
        var preset = SearchSpacePreset.Load("fashion-small");
        using var g = ArchitectureGenerator.For(preset, seed: 3);
        var (prior, c) = Inputs(preset, 5, 3);
        var weights = randn(5, preset.LayerCount, preset.MaxExpansion, preset.OptionCount, generator: new torch.Generator(4));

        (g.call(prior, c) * weights).sum().backward();
        var batch = g.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.clone());
        g.zero_grad();
        for (int i = 0; i < 5; i++)
            (g.call(prior.narrow(0, i, 1), c.narrow(0, i, 1)) * weights.narrow(0, i, 1)).sum().backward();
        foreach (var (name, p) in g.named_parameters())
        {
            var expected = p.grad!;
            var got = batch[name];
            Assert.True(got.isfinite().all().item<bool>(), $"{name}: batch gradient is not finite");
            double err = ((got - expected).abs().max() / expected.abs().max().clamp_min(1e-12)).item<float>();
            Assert.True(err < 1e-4, $"{name}: batch gradient differs from the sum of per-sample gradients by {err:e2} (relative)");
        }
    }

    [Theory]
    [InlineData(32)]
    [InlineData(24)] // libtorch's NCHW 3×3 convolution returned wrong outputs for 24 input channels here
    public void BatchAlphaEqualsPerSampleAlpha(int hidden)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var preset = SearchSpacePreset.Load("fashion-small");
        using var g = ArchitectureGenerator.For(preset, hiddenChannels: hidden, seed: 5);
        var (prior, c) = Inputs(preset, 6, 5);
        var batch = g.call(prior, c);
        for (int i = 0; i < 6; i++)
        {
            var one = g.call(prior.narrow(0, i, 1), c.narrow(0, i, 1));
            Assert.True(one[0].allclose(batch[i], rtol: 1e-4, atol: 1e-5), $"sample {i}: max |Δ| = {(one[0] - batch[i]).abs().max().item<float>()}");
        }
    }
}
