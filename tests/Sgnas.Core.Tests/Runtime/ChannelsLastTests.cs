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

    [Theory]
    [InlineData(48, 40, 128, 7)]   // the widths oneDNN got wrong here, at the batch and map sizes of training
    [InlineData(40, 72, 128, 7)]
    [InlineData(24, 144, 64, 14)]
    [InlineData(8, 16, 32, 28)]
    public void PointwiseWithGradientsEqualsTheNchwConvolutionWhicheverKernelIsChosen(int cin, int cout, int n, int size)
    {
        // Whether the check picks oneDNN or the matrix product for a shape depends on the CPU; the result may not.
        using var scope = NewDisposeScope();
        random.manual_seed(5);
        var x = randn(n, cin, size, size);
        var w = randn(cout, cin, 1, 1) * 0.2;
        var xa = x.detach().requires_grad_(true); var wa = w.detach().requires_grad_(true);
        var xb = x.detach().requires_grad_(true); var wb = w.detach().requires_grad_(true);
        var ya = nn.functional.conv2d(xa, wa);
        var yb = ChannelsLast.Pointwise(ChannelsLast.Convert(xb), wb);
        Assert.True(ya.allclose(yb, rtol: 1e-4, atol: 1e-4), $"output max |Δ| = {(ya - yb).abs().max().item<float>()}");
        var g = randn(n, cout, size, size);
        ya.backward(new[] { g }); yb.backward(new[] { ChannelsLast.Convert(g) });
        Assert.True(xa.grad!.allclose(xb.grad!, rtol: 1e-4, atol: 1e-4), $"input grad max |Δ| = {(xa.grad! - xb.grad!).abs().max().item<float>()}");
        Assert.True(wa.grad!.allclose(wb.grad!, rtol: 1e-3, atol: 1e-2), $"weight grad max |Δ| = {(wa.grad! - wb.grad!).abs().max().item<float>()}");
        using (no_grad())   // evaluation: the forward-only verdict of the same shape
            Assert.True(ya.allclose(ChannelsLast.Pointwise(ChannelsLast.Convert(x), w), rtol: 1e-4, atol: 1e-4));
    }

    [Fact]
    public void TheKernelCheckAcceptsARightConvolutionAndRejectsWrongOnes()
    {
        using var scope = NewDisposeScope();
        random.manual_seed(6);
        var x = ChannelsLast.Convert(randn(4, 16, 5, 5));
        var w = randn(24, 16, 1, 1).requires_grad_(true);
        var b = randn(24).requires_grad_(true);
        // Right: the NCHW convolution (1×1 in NCHW is right on every CPU swept).
        Tensor Nchw(Tensor a, Tensor k, Tensor? c) => nn.functional.conv2d(a.contiguous(), k, c);
        Assert.True(ChannelsLast.ConvolutionAgrees(x, w, b, backward: false, Nchw));
        Assert.True(ChannelsLast.ConvolutionAgrees(x, w, b, backward: true, Nchw));
        // Wrong output in one channel, as the kernel bug was (off by a fraction of the values' scale).
        Tensor OffInOneChannel(Tensor a, Tensor k, Tensor? c)
        {
            var y = Nchw(a, k, c);
            return y + nn.functional.one_hot(tensor(7L), 24).to(ScalarType.Float32).reshape(1, 24, 1, 1) * 0.05;
        }
        Assert.False(ChannelsLast.ConvolutionAgrees(x, w, b, backward: false, OffInOneChannel));
        // NaN output.
        Assert.False(ChannelsLast.ConvolutionAgrees(x, w, b, backward: false, (a, k, c) => Nchw(a, k, c) * float.NaN));
        // Right output, wrong input gradient: only the backward check may catch it.
        Tensor WrongBackward(Tensor a, Tensor k, Tensor? c) => Nchw(a, k, c) + (a.sum() - a.sum().detach()) * 0.1;
        Assert.True(ChannelsLast.ConvolutionAgrees(x, w, b, backward: false, WrongBackward));
        Assert.False(ChannelsLast.ConvolutionAgrees(x, w, b, backward: true, WrongBackward));
        // The check leaves the caller's random stream alone.
        random.manual_seed(7); var before = randn(3);
        random.manual_seed(7); ChannelsLast.ConvolutionAgrees(x, w, b, backward: true, Nchw); var after = randn(3);
        Assert.True(before.equal(after).all().item<bool>());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SplitChannelsEqualsSplitInValuesAndGradientsAndGivesDenseChannelsLastParts(bool channelsLast)
    {
        using var scope = NewDisposeScope();
        random.manual_seed(8);
        var x = randn(3, 12, 5, 4);
        var xa = x.detach().requires_grad_(true); var xb = x.detach().requires_grad_(true);
        var plain = xa.split(4, dim: 1);
        var parts = ChannelsLast.SplitChannels(channelsLast ? ChannelsLast.Convert(xb) : xb, 4);
        Assert.Equal(3, parts.Length);
        var weights = new[] { 1.0, -2.0, 0.5 };
        Tensor la = zeros(1), lb = zeros(1);
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(plain[j].shape, parts[j].shape);
            Assert.True(plain[j].equal(parts[j]).all().item<bool>());
            if (channelsLast) Assert.True(ChannelsLast.IsChannelsLast(parts[j]), $"part {j} is not dense channels-last");
            la = la + (plain[j].square() * weights[j]).sum(); lb = lb + (parts[j].square() * weights[j]).sum();
        }
        la.backward(); lb.backward();
        Assert.True(xa.grad!.allclose(xb.grad!, rtol: 1e-6, atol: 1e-6));
        Assert.Throws<ArgumentException>(() => ChannelsLast.SplitChannels(x, 5));
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
