using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Modules;

/// <summary>
/// A child block runs one depthwise conv per run of equal adjacent kernels (docs/performance.md, "Child step: one
/// depthwise conv per kernel size"); it must equal one conv per sub-block in output and in every gradient.
/// </summary>
public sealed class ChildBlockDepthwiseRunsTests
{
    [Theory]
    [InlineData(new[] { 3, 3, 5, 7, 7, 7 }, false)]
    [InlineData(new[] { 3, 3, 5, 7, 7, 7 }, true)]
    [InlineData(new[] { 5, 5, 5, 5 }, true)]   // one run: equal parts, the single-copy split
    [InlineData(new[] { 3, 3, 7, 7 }, true)]   // two equal runs
    [InlineData(new[] { 3, 5, 3 }, true)]      // no run: one conv per sub-block
    public void RunsEqualOneConvPerSubBlock(int[] kernels, bool channelsLast)
    {
        var geometry = new LayerGeometry(InChannels: 4, OutChannels: 6, Stride: 2, InSize: 8, OutSize: 4);
        manual_seed(11);
        using var block = new ChildBlock(geometry, new LayerChoice(kernels), new ChildNetworkOptions());
        int c = geometry.InChannels;
        using var source = randn(3, c * kernels.Length, 8, 8);
        using var h1 = (channelsLast ? ChannelsLast.Convert(source) : source).detach().clone().requires_grad_(true);
        using var h2 = h1.detach().clone().requires_grad_(true);
        if (channelsLast) Assert.True(ChannelsLast.IsChannelsLast(h1));

        var convs = block.Depthwise.Convs;
        var expected = cat(h1.split(c, 1).Select((g, j) => convs[j].call(g)).ToArray(), 1);
        var up = randn_like(expected);
        (expected * up).sum().backward();
        var expectedWeightGrads = convs.Select(conv => conv.weight!.grad!.clone()).ToArray();
        foreach (var conv in convs) conv.weight!.grad!.zero_();

        var actual = block.DepthwiseRuns(h2, c);
        Assert.Equal(expected.shape, actual.shape);
        Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-6), "forward differs");
        (actual * up).sum().backward();
        Assert.True(h2.grad!.allclose(h1.grad!, rtol: 1e-5, atol: 1e-5), "input gradient differs");
        for (int j = 0; j < convs.Count; j++)
            Assert.True(convs[j].weight!.grad!.allclose(expectedWeightGrads[j], rtol: 1e-4, atol: 1e-5), $"weight gradient of sub-block {j} differs");
    }
}
