using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Modules;

/// <summary>
/// The depthwise stage of a block whose expanded tensor is split into groups of c_in channels, each with its own
/// kernel (paper section 3.3; MixConv-style in a standalone network), run as <b>one</b> depthwise convolution over
/// the whole expanded tensor: every group's k×k kernel is zero-padded to the block's largest kernel k_max, and the
/// padding is k_max/2. A k×k kernel centred in a k_max×k_max one with padding k_max/2 computes exactly the k×k
/// convolution with padding k/2 (the extra taps multiply by zero), so values equal the per-group convolutions up to
/// float summation order, and the gradient of each group's weights is the centre of the padded kernel's gradient.
/// Why: per group, the expanded tensor must be split into channel slices and the outputs concatenated again, and on a
/// channels-last batch those slices are not dense, so a training step copies the expanded tensor five times (split,
/// cat, and their backwards); one merged convolution copies nothing. It does more multiply-adds (k_max² per channel),
/// so it is used only while those stay within <see cref="MaxPaddedMacRatio"/> of the per-group count
/// (docs/performance.md "One depthwise convolution per block").
/// </summary>
public static class MixedDepthwise
{
    /// <summary>
    /// Whether blocks may merge their depthwise groups (default). <c>SGNAS_MERGED_DW=0</c> keeps one convolution per
    /// group, for comparison.
    /// </summary>
    public static bool Enabled { get; set; } = Environment.GetEnvironmentVariable("SGNAS_MERGED_DW") != "0";

    /// <summary>
    /// Largest ratio of the merged convolution's multiply-adds (groups · k_max²) to the per-group ones (Σ k²) at which
    /// the merge is used. Measured on a 2-thread training step (docs/performance.md): kernels 3,5,7,3,5,7 (ratio 1.77)
    /// 16 % faster merged, 3,3,3,3,7,7 (2.19) 4–10 % faster, 3,3,3,3,3,7 (3.1) 5–10 % slower.
    /// </summary>
    public const double MaxPaddedMacRatio = 2.5;

    /// <summary>
    /// Whether a merged convolution with kernels above 3×3 computes its weight gradient with
    /// <see cref="DepthwiseConvolution"/> (default) rather than libtorch's convolution backward
    /// (<c>SGNAS_FAST_DW_GRAD=0</c>, for comparison).
    /// </summary>
    public static bool FastWeightGradient { get; set; } = Environment.GetEnvironmentVariable("SGNAS_FAST_DW_GRAD") != "0";

    /// <summary>
    /// Whether <see cref="Forward"/> merges depthwise groups of kernel sizes <paramref name="kernels"/> on a batch of
    /// <paramref name="batch"/> images. One-image batches keep the per-group modules, so their forward hooks see every
    /// convolution (<see cref="Cost.FlopsCounter"/> counts with them on one image).
    /// </summary>
    public static bool Merges(IReadOnlyList<long> kernels, long batch)
    {
        if (!Enabled || kernels.Count < 2 || batch < 2) return false;
        long kmax = kernels.Max();
        double padded = kernels.Count * (double)(kmax * kmax), actual = kernels.Sum(k => (double)(k * k));
        return padded <= MaxPaddedMacRatio * actual;
    }

    /// <summary>
    /// The depthwise convolutions <paramref name="convs"/> (group j: channels j·c..(j+1)·c of <paramref name="h"/>,
    /// each a c-channel depthwise conv with padding k/2, no bias, all of stride <paramref name="stride"/>), their
    /// outputs concatenated along channels. One merged convolution when <see cref="Merges"/> says so, otherwise
    /// per group over dense channel slices.
    /// </summary>
    public static Tensor Forward(Tensor h, IList<Conv2d> convs, long stride)
    {
        var kernels = convs.Select(d => d.weight!.shape[2]).ToArray();
        if (Merges(kernels, h.shape[0])) return Merged(h, convs, kernels, stride);
        long c = convs[0].weight!.shape[0];
        var groups = Runtime.ChannelsLast.SplitChannels(h, c);
        var outs = new Tensor[convs.Count];
        for (int j = 0; j < convs.Count; j++) outs[j] = convs[j].call(groups[j]);
        return outs.Length == 1 ? outs[0] : torch.cat(outs, 1);
    }

    private static Tensor Merged(Tensor h, IList<Conv2d> convs, long[] kernels, long stride)
    {
        long kmax = kernels.Max();
        var weights = new Tensor[convs.Count];
        for (int j = 0; j < convs.Count; j++)
        {
            long p = (kmax - kernels[j]) / 2;
            weights[j] = p == 0 ? convs[j].weight! : nn.functional.pad(convs[j].weight!, new[] { p, p, p, p });
        }
        var weight = torch.cat(weights, 0);
        return FastWeightGradient && kmax > 3 && torch.is_grad_enabled() && (h.requires_grad || weight.requires_grad)
            ? DepthwiseConvolution.apply(h, weight, stride)
            : DepthwiseConvolution.Plain(h, weight, stride);
    }
}
