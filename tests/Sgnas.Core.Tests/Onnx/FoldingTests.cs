using Sgnas.Onnx;
using Sgnas.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Core.Tests.Onnx;

/// <summary>Batch-norm folding, kernel embedding and parameter extraction, checked against TorchSharp itself.</summary>
public class FoldingTests
{
    private static double MaxAbs(Tensor a, Tensor b) => (a - b).abs().max().item<float>();

    [Theory]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(false, 4)]
    public void FoldedConvEqualsConvThenEvalBatchNorm(bool convBias, int groups)
    {
        TorchNative.EnsureLoaded();
        using var scope = NewDisposeScope();
        random.manual_seed(11);
        var conv = nn.Conv2d(4, 8, 3, padding: 1, groups: groups, bias: convBias);
        var bn = nn.BatchNorm2d(8, eps: 1e-3);
        using (no_grad())
        {
            bn.running_mean!.copy_(randn(8));
            bn.running_var!.copy_(rand(8) * 3 + 0.1);
            bn.weight!.copy_(randn(8));
            bn.bias!.copy_(randn(8));
        }
        bn.eval();

        var (w, b) = BatchNormFolding.FoldIntoConv(TorchParameters.ToFloatArray(conv.weight), conv.weight.shape,
            convBias ? TorchParameters.ToFloatArray(conv.bias!) : null, TorchParameters.BatchNorm(bn));
        var x = randn(2, 4, 6, 6);
        using var _ = no_grad();
        var expected = bn.call(conv.call(x));
        var folded = F.conv2d(x, tensor(w).reshape(conv.weight.shape), tensor(b), padding: new long[] { 1, 1 }, groups: groups);
        Assert.InRange(MaxAbs(expected, folded), 0, 1e-5);
    }

    [Fact]
    public void FoldingFormulaOnOneChannel()
    {
        // s = 2 / sqrt(3 + 1) = 1; W' = W; b' = 1·(5 − 1) + 0.5 = 4.5
        var bn = new BatchNormParameters(new[] { 2f }, new[] { 0.5f }, new[] { 1f }, new[] { 3f }, 1.0);
        var (w, b) = BatchNormFolding.FoldIntoConv(new[] { 1f, -2f }, new long[] { 1, 2, 1, 1 }, new[] { 5f }, bn);
        Assert.Equal(new[] { 1f, -2f }, w);
        Assert.Equal(new[] { 4.5f }, b);
    }

    [Fact]
    public void SliceOfBatchNormKeepsItsChannels()
    {
        var bn = new BatchNormParameters(new[] { 1f, 2, 3, 4 }, new[] { 5f, 6, 7, 8 }, new[] { 9f, 10, 11, 12 }, new[] { 13f, 14, 15, 16 }, 1e-5);
        var s = bn.Slice(1, 2);
        Assert.Equal(new[] { 2f, 3 }, s.Gamma);
        Assert.Equal(new[] { 6f, 7 }, s.Beta);
        Assert.Equal(new[] { 10f, 11 }, s.RunningMean);
        Assert.Equal(new[] { 14f, 15 }, s.RunningVar);
        Assert.Throws<ArgumentOutOfRangeException>(() => bn.Slice(3, 2));
    }

    [Fact]
    public void MismatchedSizesAreRejected()
    {
        var bn = new BatchNormParameters(new[] { 1f }, new[] { 0f }, new[] { 0f }, new[] { 1f }, 1e-5);
        var e = Assert.Throws<ArgumentException>(() => BatchNormFolding.FoldIntoConv(new float[8], new long[] { 2, 4, 1, 1 }, null, bn));
        Assert.Contains("2 output channels", e.Message);
        Assert.Throws<ArgumentException>(() => new BatchNormParameters(new[] { 1f }, new[] { 0f }, new[] { 0f }, new[] { -1f }, 1e-5));
    }

    [Theory]
    [InlineData(3, 7, 1)]
    [InlineData(5, 7, 2)]
    [InlineData(3, 5, 2)]
    public void EmbeddedKernelComputesTheSameConv(int k, int target, int stride)
    {
        TorchNative.EnsureLoaded();
        using var scope = NewDisposeScope();
        random.manual_seed(12);
        var w = randn(6, 1, k, k);
        var x = randn(1, 6, 11, 11);
        float[] big = KernelEmbedding.CenterPad(TorchParameters.ToFloatArray(w), w.shape, target);
        var small = F.conv2d(x, w, strides: new long[] { stride, stride }, padding: new long[] { k / 2, k / 2 }, groups: 6);
        var embedded = F.conv2d(x, tensor(big).reshape(6, 1, target, target), strides: new long[] { stride, stride },
            padding: new long[] { target / 2, target / 2 }, groups: 6);
        Assert.Equal(small.shape, embedded.shape);
        Assert.InRange(MaxAbs(small, embedded), 0, 1e-5);
    }

    [Fact]
    public void EmbeddingIntoAnEvenOrSmallerKernelIsRejected()
    {
        Assert.Throws<ArgumentException>(() => KernelEmbedding.CenterPad(new float[9], new long[] { 1, 1, 3, 3 }, 4));
        Assert.Throws<ArgumentException>(() => KernelEmbedding.CenterPad(new float[25], new long[] { 1, 1, 5, 5 }, 3));
    }

    [Fact]
    public void ToFloatArrayReadsNonContiguousTensorsInLogicalOrder()
    {
        TorchNative.EnsureLoaded();
        using var scope = NewDisposeScope();
        var t = arange(6, dtype: ScalarType.Float64).reshape(2, 3).t(); // [[0,3],[1,4],[2,5]], strided, double
        Assert.Equal(new[] { 0f, 3, 1, 4, 2, 5 }, TorchParameters.ToFloatArray(t));
    }

    [Fact]
    public void BatchNormWithoutRunningStatisticsCannotBeFolded()
    {
        TorchNative.EnsureLoaded();
        var bn = nn.BatchNorm2d(4, track_running_stats: false);
        var e = Assert.Throws<InvalidOperationException>(() => TorchParameters.BatchNorm(bn));
        Assert.Contains("running statistics", e.Message);
    }
}
