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
}
