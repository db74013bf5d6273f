using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Modules;

public class UnifiedBlockFusionTests
{
    private static SearchSpacePreset Tiny() => new()
    {
        Name = "tiny", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
    };

    /// <summary>
    /// The fused depthwise BN (one batch norm over the concatenated groups) equals one BN per group: same output,
    /// same gradients, same running statistics afterwards.
    /// </summary>
    [Fact]
    public void FusedDepthwiseBatchNormEqualsPerGroupBatchNorm()
    {
        var p = Tiny();
        var choice = new LayerChoice(new[] { 7, 3, 5, 3 });
        torch.manual_seed(3);
        using var fused = new UnifiedBlock(p.Geometry()[0], p);
        using var perGroup = new UnifiedBlock(p.Geometry()[0], p);
        perGroup.load_state_dict(fused.state_dict());
        // A BN whose momentum differs from the others makes the block take its per-group path.
        var (_, odd) = perGroup.Depthwise(3, 0);
        odd.momentum = 0.1 + 1e-9;
        fused.train(); perGroup.train();

        using var x = randn(6, 4, 8, 8);
        using var xa = x.clone().requires_grad_(true);
        using var xb = x.clone().requires_grad_(true);
        using var ya = fused.Forward(xa, choice);
        using var yb = perGroup.Forward(xb, choice);
        Assert.True(ya.allclose(yb, rtol: 1e-5, atol: 1e-6));
        // A random weighting of the output: the plain sum of a train-mode BN's output has a zero gradient in exact
        // arithmetic, so every gradient before the shadow BN would be float noise and compare nothing.
        using var weighting = randn(ya.shape);
        (ya * weighting).sum().backward();
        (yb * weighting).sum().backward();
        Assert.True(xa.grad!.allclose(xb.grad!, rtol: 1e-4, atol: 1e-6));
        var sa = fused.state_dict();
        var sb = perGroup.state_dict();
        foreach (var k in sa.Keys)
            Assert.True(sa[k].to_type(ScalarType.Float64).allclose(sb[k].to_type(ScalarType.Float64), rtol: 1e-5, atol: 1e-7), $"{k} differs");
        // The statistics of the used BNs did move (the comparison is not between untouched buffers).
        var (_, used) = fused.Depthwise(1, 0);
        Assert.False(used.running_var!.allclose(ones_like(used.running_var!)));
        var wa = fused.named_parameters().ToDictionary(t => t.name, t => t.parameter);
        foreach (var (name, param) in perGroup.named_parameters())
        {
            if (param.grad is null) { Assert.Null(wa[name].grad); continue; }
            // Relative to the parameter's largest gradient: batch norms in train mode cancel most of the gradient, so
            // small entries carry float32 noise of the summation order (~1e-3 of the largest); errors are 10-100 %.
            double scale = Math.Max(1e-6, param.grad.abs().max().item<float>());
            double diff = (param.grad - wa[name].grad!).abs().max().item<float>();
            Assert.True(diff <= 1e-3 * scale, $"grad of {name} differs by {diff} (largest {scale})");
        }
    }
}
