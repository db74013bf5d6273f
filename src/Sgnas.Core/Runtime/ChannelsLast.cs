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
    /// Whether networks convert their input batch to channels-last. Off by default: measured 1.5× faster for
    /// training steps, but in eval mode a ChildNetwork on a batch of more than one image differs from the NCHW
    /// (and ONNX Runtime) result by up to 7e-3 in the logits, more than rounding (docs/performance.md, open).
    /// <c>SGNAS_CHANNELS_LAST=1</c> turns it on for measurements.
    /// </summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("SGNAS_CHANNELS_LAST") == "1";

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

    /// <summary>True when <paramref name="x"/> [N, C, H, W] has dense NHWC strides.</summary>
    public static bool IsChannelsLast(Tensor x)
    {
        if (x.dim() != 4) return false;
        var s = x.stride();
        long c = x.shape[1], w = x.shape[3], h = x.shape[2];
        return s[1] == 1 && s[3] == c && s[2] == w * c && s[0] == h * w * c;
    }
}
