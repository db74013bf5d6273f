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
    /// [C_out, C_in, 1, 1]. On a channels-last batch of more than one image libtorch's own convolution (oneDNN) is
    /// used only for shapes where it was checked right on this CPU; otherwise the convolution is computed as the
    /// matrix product it is, over the NHWC view ([N·H·W, C_in] × [C_in, C_out]), and the result is again
    /// channels-last. Why: libtorch 2.10's oneDNN 1×1 kernel returns wrong values on this project's CPU for some
    /// output widths (33–45, 65–80, 97–100 of 1..100) when the batch holds more than one image (48→40 channels off by
    /// up to 2.3), while the matrix product equals the NCHW convolution; where oneDNN is right it is 10–20 % faster
    /// per training step (docs/performance.md "Channels-last: the 1×1 convolution").
    /// </summary>
    public static Tensor Pointwise(Tensor x, Tensor weight, Tensor? bias = null) =>
        UsesConvolution(x, weight, bias)
            ? Convolution(x, weight, bias)
            : MatrixProduct(x, weight, bias);

    /// <summary>
    /// <paramref name="conv"/> (a 1×1 convolution) applied to <paramref name="x"/> as <see cref="Pointwise(Tensor, Tensor, Tensor?)"/>
    /// does; where that is the convolution it goes through the module, so its forward hooks run
    /// (<see cref="Cost.FlopsCounter"/> counts with them on a one-image batch).
    /// </summary>
    public static Tensor Pointwise(TorchSharp.Modules.Conv2d conv, Tensor x) =>
        UsesConvolution(x, conv.weight!, conv.bias)
            ? conv.call(x)
            : MatrixProduct(x, conv.weight!, conv.bias);

    /// <summary>
    /// Whether channels-last 1×1 convolutions may use libtorch's kernel where it checks right (default) or always
    /// take the matrix product (<c>SGNAS_POINTWISE=matmul</c>, for comparison).
    /// </summary>
    public static bool VerifiedConvolution { get; set; } = Environment.GetEnvironmentVariable("SGNAS_POINTWISE") != "matmul";

    /// <summary>The 1×1 convolution as a matrix product over the NHWC view of a channels-last batch.</summary>
    internal static Tensor MatrixProduct(Tensor x, Tensor weight, Tensor? bias) =>
        nn.functional.linear(x.permute(0, 2, 3, 1), weight.flatten(1), bias).permute(0, 3, 1, 2);

    // What was found per shape: the check runs once per shape and thread count (the kernel oneDNN picks depends on
    // both), on the first batch of that shape; forward and backward separately, the backward only once a gradient is
    // first needed. The decision is a function of the shape on a given machine, so runs stay reproducible.
    private readonly record struct PointwiseShape(long N, long CIn, long COut, long H, long W, bool Bias, int Threads);
    [Flags]
    private enum Verdict { Unknown = 0, ForwardRight = 1, ForwardWrong = 2, BackwardRight = 4, BackwardWrong = 8 }
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<PointwiseShape, Verdict> Verdicts = new();

    // libtorch's convolution unless x is a channels-last batch of a shape whose check failed.
    private static bool UsesConvolution(Tensor x, Tensor weight, Tensor? bias) =>
        !IsCheckedShape(x) || ConvolutionIsRight(x, weight, bias);

    private static bool IsCheckedShape(Tensor x) =>
        x.dim() == 4 && x.shape[0] > 1 && x.shape[2] * x.shape[3] > 1 && IsChannelsLast(x);

    private static bool ConvolutionIsRight(Tensor x, Tensor weight, Tensor? bias)
    {
        if (!VerifiedConvolution) return false;
        bool needsGrad = torch.is_grad_enabled() && (x.requires_grad || weight.requires_grad || bias?.requires_grad == true);
        var key = new PointwiseShape(x.shape[0], x.shape[1], weight.shape[0], x.shape[2], x.shape[3], bias is not null, torch.get_num_threads());
        var known = Verdicts.GetValueOrDefault(key);
        var v = known;
        if ((v & (Verdict.ForwardRight | Verdict.ForwardWrong)) == 0)
            v |= ConvolutionAgrees(x, weight, bias, backward: false, Convolution) ? Verdict.ForwardRight : Verdict.ForwardWrong;
        if (needsGrad && (v & Verdict.ForwardRight) != 0 && (v & (Verdict.BackwardRight | Verdict.BackwardWrong)) == 0)
            v |= ConvolutionAgrees(x, weight, bias, backward: true, Convolution) ? Verdict.BackwardRight : Verdict.BackwardWrong;
        if (v != known) Verdicts[key] = v; // every 1×1 call passes here: write only what a check found
        return (v & Verdict.ForwardRight) != 0 && (!needsGrad || (v & Verdict.BackwardRight) != 0);
    }

    private static Tensor Convolution(Tensor x, Tensor weight, Tensor? bias) => nn.functional.conv2d(x, weight, bias);

    /// <summary>
    /// Whether <paramref name="convolution"/> of <paramref name="x"/> agrees with the matrix product: the outputs, and
    /// with <paramref name="backward"/> the gradients of input, weight and bias for a fixed channels-last output
    /// gradient (its own generator, so the caller's random stream is untouched). Agreement: everything finite and
    /// within 1e-3 of the largest magnitude (float32 sums in another order differ by ~1e-6; the kernel errors seen
    /// were 10–100 % or NaN).
    /// </summary>
    internal static bool ConvolutionAgrees(Tensor x, Tensor weight, Tensor? bias, bool backward, Func<Tensor, Tensor, Tensor?, Tensor> convolution)
    {
        using var scope = NewDisposeScope();
        if (!backward)
        {
            using var _ = no_grad();
            return Close(convolution(x.detach(), weight.detach(), bias?.detach()), MatrixProduct(x.detach(), weight.detach(), bias?.detach()));
        }
        using var __ = enable_grad();
        Tensor[] Grads(Func<Tensor, Tensor, Tensor?, Tensor> f, out Tensor y)
        {
            var leaves = new List<Tensor> { x.detach().requires_grad_(true), weight.detach().requires_grad_(true) };
            if (bias is not null) leaves.Add(bias.detach().requires_grad_(true));
            y = f(leaves[0], leaves[1], bias is null ? null : leaves[2]);
            using var gen = new Generator(20261201);
            var g = Convert(randn(y.shape, generator: gen));
            return torch.autograd.grad(new[] { y }, leaves, new[] { g }).ToArray();
        }
        var a = Grads(convolution, out var ya);
        var m = Grads(MatrixProduct, out var ym);
        if (!Close(ya, ym)) return false;
        for (int i = 0; i < a.Length; i++)
            if (!Close(a[i], m[i])) return false;
        return true;
    }

    private static bool Close(Tensor a, Tensor expected)
    {
        using var _ = no_grad();
        if (!a.isfinite().all().item<bool>() || !expected.isfinite().all().item<bool>()) return false;
        double scale = Math.Max(1.0, expected.abs().max().item<float>());
        return (a - expected).abs().max().item<float>() <= 1e-3 * scale;
    }

    /// <summary>
    /// <paramref name="x"/> [N, g·c, H, W] split along channels into g tensors of <paramref name="groupChannels"/>
    /// channels each, as <c>x.split(c, 1)</c>. On a channels-last batch each part is made a dense channels-last tensor
    /// here, in one copy for all parts: a channel slice of an NHWC tensor is not dense, so libtorch's convolution copies
    /// it in its forward and again in its backward (it saves the slice, not its copy); copying once here halves those
    /// copies (a child step spent ~10 % of its time in them; docs/performance.md). Otherwise the split views.
    /// </summary>
    public static Tensor[] SplitChannels(Tensor x, long groupChannels)
    {
        long c = x.shape[1];
        if (c % groupChannels != 0) throw new ArgumentException($"{c} channels do not split into groups of {groupChannels}.", nameof(groupChannels));
        long g = c / groupChannels;
        if (g == 1 || !IsChannelsLast(x)) return x.split(groupChannels, dim: 1);
        long n = x.shape[0], h = x.shape[2], w = x.shape[3];
        // [N, H, W, g, c] -> [g, N, H, W, c] dense: part j is [N, H, W, c] contiguous, i.e. [N, c, H, W] channels-last.
        var parts = x.permute(0, 2, 3, 1).reshape(n, h, w, g, groupChannels).permute(3, 0, 1, 2, 4).contiguous();
        return parts.unbind(0).Select(t => t.permute(0, 3, 1, 2)).ToArray();
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
