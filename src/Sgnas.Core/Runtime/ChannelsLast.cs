using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Runtime;

/// <summary>
/// The channels-last memory layout (PyTorch's <c>torch.channels_last</c>, NHWC in memory, NCHW in shape) for image
/// batches. TorchSharp 0.107 exposes no memory-format argument, so the layout is made from strides; libtorch reads
/// the format from the strides, and a convolution whose input is channels-last runs oneDNN's NHWC kernels with no
/// reorder of activations and returns channels-last output, so the whole network stays in the layout
/// (docs/performance.md). Values and shapes are unchanged; only the order of floating-point sums may differ.
/// </summary>
public static class ChannelsLast
{
    /// <summary>
    /// Whether networks convert their input batch to channels-last. On by default: training steps run 1.3–2.4× faster
    /// than in NCHW on this project's CPUs. Its batch norm accumulates the batch statistics in float32 (output within
    /// ~1e-5 of float64, NCHW's ~1e-7), exactly as PyTorch's channels-last kernel does, so where the true input
    /// gradient of a batch norm nearly cancels the two layouts' gradients differ visibly (docs/performance.md
    /// "Channels-last and batch-norm precision"). <c>SGNAS_CHANNELS_LAST=0</c> keeps NCHW.
    /// </summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("SGNAS_CHANNELS_LAST") != "0";

    /// <summary>
    /// <paramref name="x"/> in channels-last layout when <see cref="Enabled"/> and it is a 4-D CPU batch; otherwise
    /// <paramref name="x"/> itself. Differentiable (a copy or a view).
    /// </summary>
    public static Tensor Apply(Tensor x) => Enabled && x.dim() == 4 && x.device_type == DeviceType.CPU ? Convert(x) : x;

    /// <summary><paramref name="x"/> [N, C, H, W] with NHWC strides; a view when that needs no copy.</summary>
    public static Tensor Convert(Tensor x)
    {
        if (x.dim() != 4) throw new ArgumentException($"channels-last needs a 4-D [N, C, H, W] tensor; got {x.dim()}-D.", nameof(x));
        long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
        if (IsChannelsLast(x)) return x;
        if (c == 1)
            // One channel: the bytes are already NHWC; only the channel stride must say so (libtorch reads a
            // contiguous [N, 1, H, W] tensor as NCHW). [N, H, W, 1] permuted gives the channel stride 1 and, unlike
            // as_strided, keeps the storage offset of a view (a batch narrowed out of a larger tensor).
            return x.contiguous().reshape(n, h, w, 1).permute(0, 3, 1, 2);
        return x.permute(0, 2, 3, 1).contiguous().permute(0, 3, 1, 2);
    }

    /// <summary>
    /// A 1×1 convolution (stride 1, no padding, one group) of <paramref name="x"/> with <paramref name="weight"/>
    /// [C_out, C_in, 1, 1]. On a channels-last batch of more than one image it is computed as the matrix product it
    /// is, over the NHWC view ([N·H·W, C_in] × [C_in, C_out]), and the result is again channels-last; otherwise it is
    /// an ordinary conv2d. Why not conv2d on every channels-last batch: libtorch 2.10's oneDNN 1×1 kernel returns
    /// wrong values on this project's CPU for some output widths (33–45, 65–80, 97–100 of 1..100) when the batch
    /// holds more than one image (48→40 channels off by up to 2.3; docs/performance.md), while the matrix product
    /// equals the NCHW convolution.
    /// </summary>
    public static Tensor Pointwise(Tensor x, Tensor weight, Tensor? bias = null) =>
        NeedsMatrixProduct(x)
            ? nn.functional.linear(x.permute(0, 2, 3, 1), weight.flatten(1), bias).permute(0, 3, 1, 2)
            : nn.functional.conv2d(x, weight, bias);

    /// <summary>
    /// <paramref name="conv"/> (a 1×1 convolution) applied to <paramref name="x"/> as <see cref="Pointwise(Tensor, Tensor, Tensor?)"/>
    /// does; where that is the plain convolution it goes through the module, so its forward hooks run
    /// (<see cref="Cost.FlopsCounter"/> counts with them on a one-image batch).
    /// </summary>
    public static Tensor Pointwise(TorchSharp.Modules.Conv2d conv, Tensor x) =>
        NeedsMatrixProduct(x) ? Pointwise(x, conv.weight!, conv.bias) : conv.call(x);

    private static bool NeedsMatrixProduct(Tensor x) =>
        x.dim() == 4 && x.shape[0] > 1 && x.shape[2] * x.shape[3] > 1 && IsChannelsLast(x);

    /// <summary>True when <paramref name="x"/> [N, C, H, W] has dense NHWC strides.</summary>
    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        var s = x.stride();
        long c = x.shape[1], w = x.shape[3], h = x.shape[2];
        return s[1] == 1 && s[3] == c && s[2] == w * c && s[0] == h * w * c;
    }
}
