using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Modules;

public class MixedDepthwiseTests
{
    // Per group, written out: split the channels, convolve each group with its own kernel (padding k/2), concatenate.
    private static Tensor PerGroup(Tensor h, IList<Conv2d> convs, long stride)
    {
        long c = convs[0].weight!.shape[0];
        var groups = h.split(c, dim: 1);
        var outs = new Tensor[convs.Count];
        for (int j = 0; j < convs.Count; j++)
        {
            long k = convs[j].weight!.shape[2];
            outs[j] = nn.functional.conv2d(groups[j], convs[j].weight!, null, strides: new[] { stride, stride },
                padding: new[] { k / 2, k / 2 }, groups: c);
        }
        return cat(outs, 1);
    }

    [Theory]
    [InlineData("3,5,7,3,5,7", 1, true)]
    [InlineData("3,5,7,3,5,7", 2, true)]
    [InlineData("7,3", 2, false)]
    [InlineData("3,3,3,3", 1, true)]
    [InlineData("5,3,5", 2, false)]
    public void MergedConvolutionEqualsTheGroupConvolutionsInValuesAndGradients(string kernelList, int stride, bool channelsLast) =>
        WithMergeOn(() => CompareMergedWithPerGroup(kernelList, stride, channelsLast));

    // Runs a check with merging switched on whatever SGNAS_MERGED_DW says, and restores the setting.
    private static void WithMergeOn(Action check)
    {
        bool was = MixedDepthwise.Enabled;
        MixedDepthwise.Enabled = true;
        try { check(); }
        finally { MixedDepthwise.Enabled = was; }
    }

    private static void CompareMergedWithPerGroup(string kernelList, int stride, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        manual_seed(11);
        const int c = 5;
        var kernels = kernelList.Split(',').Select(long.Parse).ToArray();
        Assert.True(MixedDepthwise.Merges(kernels, 3), "the case must take the merged convolution");
        var convs = kernels.Select(k => nn.Conv2d(c, c, k, stride: stride, padding: k / 2, groups: c, bias: false)).ToArray();
        var x = randn(3, c * kernels.Length, 9, 9);
        var xa = x.detach().requires_grad_(true);
        var xb = x.detach().requires_grad_(true);
        var merged = MixedDepthwise.Forward(channelsLast ? ChannelsLast.Convert(xa) : xa, convs, stride);
        var reference = PerGroup(xb, convs, stride);
        Assert.Equal(reference.shape, merged.shape);
        Assert.True(merged.allclose(reference, rtol: 1e-5, atol: 1e-5), $"max |Δ| = {(merged - reference).abs().max().item<float>()}");

        // A non-uniform output gradient, so every weight tap and input pixel is checked, not only sums.
        var g = randn(reference.shape);
        var mergedGrads = autograd.grad(new[] { merged }, convs.Select(m => m.weight!).Append(xa).ToArray(), new[] { g });
        var referenceGrads = autograd.grad(new[] { reference }, convs.Select(m => m.weight!).Append(xb).ToArray(), new[] { g });
        for (int i = 0; i < mergedGrads.Count; i++)
        {
            Assert.Equal(referenceGrads[i].shape, mergedGrads[i].shape);
            Assert.True(mergedGrads[i].allclose(referenceGrads[i], rtol: 1e-4, atol: 1e-4),
                $"gradient {i} differs by {(mergedGrads[i] - referenceGrads[i]).abs().max().item<float>()}");
        }
        foreach (var m in convs) m.Dispose();
    }

    [Theory]
    [InlineData(7, 1, 14, true)]
    [InlineData(5, 2, 9, true)]    // odd input at stride 2: the transposed convolution needs an output padding
    [InlineData(7, 2, 8, true)]
    [InlineData(3, 1, 6, false)]
    [InlineData(5, 2, 10, false)]
    public void DepthwiseConvolutionGradientsEqualLibtorchs(int k, int stride, int size, bool channelsLast)
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        const int c = 6;
        var x0 = randn(4, c, size, size);
        var w0 = randn(c, 1, k, k);
        Tensor Input(Tensor t) => channelsLast ? ChannelsLast.Convert(t) : t;
        var xa = x0.detach().requires_grad_(true); var wa = w0.detach().requires_grad_(true);
        var xb = x0.detach().requires_grad_(true); var wb = w0.detach().requires_grad_(true);
        var ours = DepthwiseConvolution.apply(Input(xa), wa, (long)stride);
        var libtorch = nn.functional.conv2d(Input(xb), wb, null, strides: new long[] { stride, stride },
            padding: new long[] { k / 2, k / 2 }, groups: c);
        Assert.Equal(libtorch.shape, ours.shape);
        Assert.True(ours.allclose(libtorch, rtol: 1e-5, atol: 1e-5));
        var g = randn(libtorch.shape);
        var a = autograd.grad(new[] { ours }, new[] { xa, wa }, new[] { g });
        var b = autograd.grad(new[] { libtorch }, new[] { xb, wb }, new[] { g });
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(b[i].shape, a[i].shape);
            double scale = b[i].abs().max().item<float>(), diff = (a[i] - b[i]).abs().max().item<float>();
            Assert.True(diff <= 1e-5 * Math.Max(1, scale), $"{(i == 0 ? "input" : "weight")} gradient differs by {diff} (largest {scale})");
        }
    }

    [Fact]
    public void MergeRuleFollowsThePaddedMultiplyAddRatio() => WithMergeOn(MergeRule);

    private static void MergeRule()
    {
        Assert.True(MixedDepthwise.Merges(new long[] { 3, 5, 7, 3, 5, 7 }, 128));   // 6·49 / 166 = 1.77
        Assert.True(MixedDepthwise.Merges(new long[] { 3, 3, 3, 3, 7, 7 }, 128));   // 294 / 134 = 2.19
        Assert.False(MixedDepthwise.Merges(new long[] { 3, 3, 3, 3, 3, 7 }, 128));  // 294 / 94 = 3.13
        Assert.True(MixedDepthwise.Merges(new long[] { 3, 3 }, 2));                 // no padding at all
        Assert.False(MixedDepthwise.Merges(new long[] { 3, 3 }, 1));                // one image: per-group modules (hooks)
        Assert.False(MixedDepthwise.Merges(new long[] { 5 }, 128));                 // one group: nothing to merge
    }

    [Fact]
    public void ChildNetworkTrainsTheSameMergedOrPerGroupAndCountsTheSameMacs()
    {
        using var scope = NewDisposeScope();
        var preset = SearchSpacePreset.Load("fashion-small");
        var arch = ArchitectureCodec.Parse("e3:3,5,7|e6:3,3,5,5,7,7|e4:3,7,7,7|e2:3,5|e5:3,3,5,7,7|e6:3,5,7,3,5,7", preset);
        manual_seed(4);
        using var merged = new ChildNetwork(preset, arch);
        using var perGroup = new ChildNetwork(preset, arch);
        perGroup.load_state_dict(merged.state_dict());
        var x = randn(6, 1, 28, 28);
        var labels = tensor(new long[] { 0, 1, 2, 3, 4, 5 });
        bool was = MixedDepthwise.Enabled;
        Tensor la, lb;
        try
        {
            MixedDepthwise.Enabled = true;
            la = nn.functional.cross_entropy(merged.call(x), labels); la.backward();
            MixedDepthwise.Enabled = false;
            lb = nn.functional.cross_entropy(perGroup.call(x), labels); lb.backward();
        }
        finally { MixedDepthwise.Enabled = was; }
        Assert.True(la.allclose(lb, rtol: 1e-5, atol: 1e-6), $"{la.item<float>()} vs {lb.item<float>()}");
        var reference = perGroup.named_parameters().ToDictionary(t => t.name, t => t.parameter);
        foreach (var (name, p) in merged.named_parameters())
        {
            var q = reference[name];
            double scale = Math.Max(1e-3, q.grad!.abs().max().item<float>());
            double diff = (p.grad! - q.grad!).abs().max().item<float>();
            Assert.True(diff <= 2e-3 * scale, $"gradient of {name} differs by {diff} (largest {scale})");
        }
        // The MAC count runs one image through the per-group modules, so it is the same either way.
        Assert.Equal(new Sgnas.Cost.FlopsLookupTable(preset).CostM(arch), Sgnas.Cost.FlopsCounter.Count(preset, arch).FlopsM, 6);
    }
}
