using Sgnas.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Runtime;

public sealed class ChannelsLastTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConvertKeepsValuesOfViewsWithAnOffsetAndGivesNhwcStrides(int channels)
    {
        // A batch narrowed out of a larger tensor starts at a storage offset; the layout change must keep its values.
        using var all = arange(5 * channels * 4 * 6, dtype: ScalarType.Float32).reshape(5, channels, 4, 6);
        using var view = all.narrow(0, 2, 3);
        using var cl = ChannelsLast.Convert(view);
        Assert.True(ChannelsLast.IsChannelsLast(cl));
        Assert.Equal(view.shape, cl.shape);
        Assert.Equal(view.data<float>().ToArray(), cl.contiguous().data<float>().ToArray());
        Assert.Equal(1, cl.stride(1));
    }

    [Fact]
    public void ConvolutionOnAChannelsLastBatchEqualsNchw()
    {
        using var x = randn(4, 1, 9, 9).narrow(0, 1, 3);
        using var w = randn(8, 1, 3, 3);
        using var a = nn.functional.conv2d(x, w, padding: new long[] { 1, 1 });
        using var b = nn.functional.conv2d(ChannelsLast.Convert(x), w, padding: new long[] { 1, 1 });
        Assert.True(a.allclose(b, rtol: 1e-4, atol: 1e-5));
    }

    [Theory]
    [InlineData(48, 40)]   // libtorch's oneDNN 1×1 kernel got 40 and 33 outputs wrong on channels-last input here
    [InlineData(16, 33)]
    [InlineData(24, 24)]
    public void PointwiseOnAChannelsLastBatchEqualsTheNchwConvolution(int cin, int cout)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(3);
        var x = randn(3, cin, 5, 5);
        var w = randn(cout, cin, 1, 1);
        var bias = randn(cout);
        var expected = nn.functional.conv2d(x, w, bias);
        var cl = ChannelsLast.Pointwise(ChannelsLast.Convert(x), w, bias);
        Assert.True(ChannelsLast.IsChannelsLast(cl));
        Assert.Equal(expected.shape, cl.shape);
        Assert.True(expected.allclose(cl, rtol: 1e-4, atol: 1e-5), $"max |Δ| = {(expected - cl).abs().max().item<float>()}");
        // Gradients through the matrix-product path equal the convolution's.
        var xa = x.detach().requires_grad_(true); var xb = x.detach().requires_grad_(true);
        nn.functional.conv2d(xa, w, bias).square().sum().backward();
        ChannelsLast.Pointwise(ChannelsLast.Convert(xb), w, bias).square().sum().backward();
        Assert.True(xa.grad!.allclose(xb.grad!, rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void PointwiseOnAnNchwBatchIsTheConvolution()
    {
        using var scope = NewDisposeScope();
        var x = randn(2, 8, 4, 4);
        var w = randn(40, 8, 1, 1);
        Assert.True(nn.functional.conv2d(x, w).allclose(ChannelsLast.Pointwise(x, w), rtol: 0, atol: 0));
    }

    [Fact]
    public void ChildNetworkInEvalModeGivesTheSameLogitsInBothLayouts()
    {
        // The shipped preset with a sampled architecture: its 48→40 projection is the 1×1 shape libtorch's
        // channels-last kernel got wrong (7e-3 in the logits before ChannelsLast.Pointwise).
        using var scope = NewDisposeScope();
        random.manual_seed(4);
        var preset = Sgnas.SearchSpace.SearchSpacePreset.Load("fashion-small");
        var arch = Sgnas.SearchSpace.ArchitectureCodec.Parse("e3:3,5,7|e6:3,3,5,5,7,7|e4:3,7,7,7|e2:3,5|e5:3,3,5,7,7|e6:3,5,7,3,5,7", preset);
        using var net = new Sgnas.Modules.ChildNetwork(preset, arch);
        using (no_grad())
            foreach (var bn in net.modules().OfType<TorchSharp.Modules.BatchNorm2d>())
            {
                long c = bn.num_features;
                bn.running_mean!.copy_(randn(c) * 0.5); bn.running_var!.copy_(rand(c) + 0.5);
                bn.weight!.copy_(rand(c) + 0.5); bn.bias!.copy_(randn(c) * 0.2);
            }
        net.eval();
        var x = randn(5, 1, 28, 28);
        bool was = ChannelsLast.Enabled;
        Tensor nchw, cl;
        try
        {
            using var _ = no_grad();
            ChannelsLast.Enabled = false; nchw = net.call(x);
            ChannelsLast.Enabled = true; cl = net.call(x);
        }
        finally { ChannelsLast.Enabled = was; }
        Assert.True(nchw.allclose(cl, rtol: 1e-4, atol: 1e-4), $"max |Δ| = {(nchw - cl).abs().max().item<float>()}");
    }
}
