using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Modules;

/// <summary>
/// A depthwise convolution (groups = channels, no bias, padding k/2) whose weight gradient is computed as a
/// batch-1 depthwise convolution with the images as channels, instead of by libtorch's convolution backward.
/// Why: oneDNN (libtorch 2.10) has a fast depthwise weight-gradient kernel only for 3×3 kernels; 5×5 and 7×7 fall to a
/// general grouped kernel that was 9–15× slower than 3×3 per layer of a training step (docs/performance.md). The
/// weight gradient dW[c,i,j] = Σ_{n,h,w} x_pad[n,c,s·h+i,s·w+j]·g[n,c,h,w] is a correlation of x with g per image and
/// channel: a depthwise convolution of x (N·C channels, one image) with g as its kernel (dilation s), summed over the
/// images, which runs on oneDNN's fast depthwise forward kernel for every kernel size. Values equal libtorch's
/// gradient up to float summation order (test: MixedDepthwiseTests).
/// </summary>
internal sealed class DepthwiseConvolution : autograd.SingleTensorFunction<DepthwiseConvolution>
{
    public override string Name => "SgnasDepthwiseConvolution";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var w = (Tensor)vars[1];
        long stride = (long)vars[2];
        ctx.save_for_backward(new List<Tensor> { x, w });
        ctx.save_data("stride", stride);
        return Plain(x, w, stride);
    }

    /// <summary>The same depthwise convolution of <paramref name="x"/> with <paramref name="w"/> [C, 1, k, k], through
    /// libtorch's own autograd (its backward included).</summary>
    internal static Tensor Plain(Tensor x, Tensor w, long stride)
    {
        long k = w.shape[2];
        return nn.functional.conv2d(x, w, null, strides: new[] { stride, stride }, padding: new[] { k / 2, k / 2 }, groups: x.shape[1]);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor g)
    {
        var saved = ctx.get_saved_variables();
        Tensor x = saved[0], w = saved[1];
        long s = (long)ctx.get_data("stride");
        using var scope = NewDisposeScope();
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], wd = x.shape[3], k = w.shape[2], p = k / 2;
        long ho = g.shape[2], wo = g.shape[3];
        // Input gradient: the transposed convolution (oneDNN's depthwise backward-data kernel, fast for every k).
        var outputPadding = new[] { h - ((ho - 1) * s - 2 * p + k), wd - ((wo - 1) * s - 2 * p + k) };
        var gx = nn.functional.conv_transpose2d(g, w, null, strides: new[] { s, s }, padding: new[] { p, p },
            output_padding: outputPadding, groups: c);
        // Weight gradient: x as one image of N·C channels (NHWC memory [H, W, N, C]), g as its N·C kernels.
        var xt = Runtime.ChannelsLast.IsChannelsLast(x)
            ? x.permute(2, 3, 0, 1).contiguous().reshape(1, h, wd, n * c).permute(0, 3, 1, 2)
            : x.reshape(1, n * c, h, wd);
        var kernels = g.reshape(n * c, 1, ho, wo);
        var corr = nn.functional.conv2d(xt, kernels, null, padding: new[] { p, p }, dilation: new[] { s, s }, groups: n * c);
        var gw = corr.narrow(2, 0, k).narrow(3, 0, k).reshape(n, c, k, k).sum(new long[] { 0 }).unsqueeze(1);
        return new List<Tensor> { gx.MoveToOuterDisposeScope(), gw.MoveToOuterDisposeScope(), null! }; // one per argument; the stride has none
    }
}
