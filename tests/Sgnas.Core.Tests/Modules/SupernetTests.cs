using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Modules;

public class SupernetTests
{
    internal static SearchSpacePreset Tiny() => new()
    {
        Name = "tiny", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
    };

    [Fact]
    public void RelaxedForwardWithOneHotEqualsSinglePath()
    {
        torch.manual_seed(1);
        var p = Tiny();
        using var net = new Supernet(p);
        // give BN non-trivial statistics, then freeze
        net.train();
        var s = new ArchitectureSampler(p, 5);
        using (no_grad()) for (int i = 0; i < 5; i++) net.Forward(randn(8, 1, 8, 8), s.Sample());
        net.eval();
        using var x = randn(3, 1, 8, 8);
        for (int n = 0; n < 5; n++)
        {
            var a = s.Sample();
            using var m = tensor(a.ToOneHot(p), new long[] { p.LayerCount, 6, 4 });
            using var y1 = net.Forward(x, a);
            using var y2 = net.ForwardRelaxed(x, m);
            Assert.True(y1.allclose(y2, rtol: 1e-4, atol: 1e-5), $"arch {a}");
        }
    }

    [Fact]
    public void FoldedRelaxedDepthwiseEqualsOneConvAndBnPerOptionForSoftWeights()
    {
        // The frozen supernet's relaxed forward folds each option's BN into its depthwise conv and runs one conv per
        // kernel size over all sub-blocks; for soft (non-one-hot) weights it must equal the per-option computation.
        torch.manual_seed(2);
        var p = Tiny();
        using var net = new Supernet(p);
        net.train();
        var s = new ArchitectureSampler(p, 6);
        using (no_grad()) for (int i = 0; i < 5; i++) net.Forward(randn(8, 1, 8, 8), s.Sample());
        net.eval();
        using var x = randn(3, 1, 8, 8);
        using var m = randn(p.LayerCount, 6, 4).mul(2).softmax(-1).requires_grad_(true);
        Tensor folded, unfolded, gFolded, gUnfolded;
        try
        {
            UnifiedBlock.FuseRelaxedDepthwise = true;
            folded = net.ForwardRelaxed(x, m);
            folded.square().sum().backward();
            gFolded = m.grad!.clone(); m.grad!.zero_();
            UnifiedBlock.FuseRelaxedDepthwise = false;
            unfolded = net.ForwardRelaxed(x, m);
            unfolded.square().sum().backward();
            gUnfolded = m.grad!.clone();
        }
        finally { UnifiedBlock.FuseRelaxedDepthwise = true; }
        Assert.True(folded.allclose(unfolded, rtol: 1e-4, atol: 1e-5), $"max |Δ| = {(folded - unfolded).abs().max().item<float>()}");
        Assert.True(gFolded.allclose(gUnfolded, rtol: 1e-3, atol: 1e-5), $"max |Δgrad| = {(gFolded - gUnfolded).abs().max().item<float>()}");
        Assert.True(gFolded.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void RateProbabilitiesCountActiveSubBlocks()
    {
        // skip weights per sub-block (first two never skip): active = 1, 1, ½, ½, 1, 0
        using var skip = tensor(new float[] { 0, 0, 0.5f, 0.5f, 0f, 1f });
        var p = UnifiedBlock.RateProbabilities(skip, 2, 6).data<float>().ToArray();
        // count = 3 + Binomial(2, ½): e=3 ¼, e=4 ½, e=5 ¼
        Assert.Equal(new[] { 0f, 0.25f, 0.5f, 0.25f, 0f }, p);
        // one-hot: exactly the number of non-skip sub-blocks, wherever the skips are
        using var oneHot = tensor(new float[] { 0, 0, 1, 0, 1, 0 });
        Assert.Equal(new[] { 0f, 0f, 1f, 0f, 0f }, UnifiedBlock.RateProbabilities(oneHot, 2, 6).data<float>().ToArray());
    }

    [Fact]
    public void SkippedSubBlocksDoNotInfluenceTheOutput()
    {
        torch.manual_seed(2);
        var p = Tiny();
        using var net = new Supernet(p);
        net.eval();
        var a = ArchitectureCodec.Parse("e2:3,5|e3:7,7,3", p);
        using var x = randn(2, 1, 8, 8);
        using var before = net.Forward(x, a);
        using (no_grad())
        {
            // weights of inactive sub-blocks (sub-block 2+ of layer 0, 3+ of layer 1) and of unused kernels change
            foreach (var (conv, _) in new[] { net.Blocks[0].Depthwise(4, 0), net.Blocks[1].Depthwise(5, 2), net.Blocks[0].Depthwise(0, 2) })
                conv.weight!.add_(1.0);
        }
        using var after = net.Forward(x, a);
        Assert.True(before.allclose(after));
    }

    [Fact]
    public void ChildNetworkHasOnlyActiveSubBlocks()
    {
        var p = Tiny();
        var a = ArchitectureCodec.Parse("e2:3,5|e3:3,7,7", p);
        using var child = new ChildNetwork(p, a);
        using var y = child.call(randn(2, 1, 8, 8));
        Assert.Equal(new long[] { 2, 3 }, y.shape);
        Assert.Equal(2, child.Blocks[0].Depthwise.Convs.Count);
        Assert.Equal(8, child.Blocks[0].Expand.Conv.weight!.shape[0]);
        Assert.Equal(new long[] { 4, 1, 7, 7 }, child.Blocks[1].Depthwise.Convs[2].weight!.shape);
    }

    [Fact]
    public void ShadowBnPicksTheBnOfTheActiveRate()
    {
        var p = Tiny();
        using var net = new Supernet(p);
        net.train();
        var bn2 = net.Blocks[0].ShadowBN.For(2).running_mean!.clone();
        var bn4 = net.Blocks[0].ShadowBN.For(4).running_mean!.clone();
        using (no_grad()) net.Forward(randn(4, 1, 8, 8) * 3 + 1, ArchitectureCodec.Parse("e4:3,3,3,3|e2:3,3", p));
        Assert.True(net.Blocks[0].ShadowBN.For(2).running_mean!.allclose(bn2, 0, 0));
        Assert.False(net.Blocks[0].ShadowBN.For(4).running_mean!.allclose(bn4, 0, 0));
    }
}

public class SubnetExtractionTests
{
    [Fact]
    public void ExtractedChildComputesTheSupernetPath()
    {
        torch.manual_seed(3);
        var p = SupernetTests.Tiny();
        using var net = new Supernet(p);
        var s = new ArchitectureSampler(p, 9);
        net.train();
        using (no_grad()) for (int i = 0; i < 6; i++) net.Forward(randn(8, 1, 8, 8), s.Sample(canonical: false));
        net.eval();
        using var x = randn(4, 1, 8, 8);
        for (int n = 0; n < 4; n++)
        {
            var a = s.Sample(canonical: false); // non-canonical: group order must follow the sub-blocks
            using var child = SubnetExtraction.Extract(net, a);
            using var expected = net.Forward(x, a);
            using var actual = child.call(x);
            Assert.True(expected.allclose(actual, rtol: 1e-4, atol: 1e-5), $"arch {a}");
        }
    }
}
