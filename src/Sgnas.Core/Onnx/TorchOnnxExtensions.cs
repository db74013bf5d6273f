using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Onnx;

/// <summary>Copies TorchSharp tensors and module parameters into plain arrays for the ONNX writer.</summary>
public static class TorchParameters
{
    /// <summary>
    /// The values of <paramref name="tensor"/> as float32, row-major. Works for tensors on any device and with any
    /// strides (the copy is moved to the CPU and made contiguous first); the tensor itself is not changed.
    /// </summary>
    public static float[] ToFloatArray(Tensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var flat = tensor.detach().cpu().to_type(ScalarType.Float32).contiguous();
        return flat.data<float>().ToArray();
    }

    /// <summary>The shape of <paramref name="tensor"/>.</summary>
    public static long[] Shape(Tensor tensor) => (tensor ?? throw new ArgumentNullException(nameof(tensor))).shape;

    /// <summary>
    /// The inference-time parameters of a batch norm module (running statistics, γ and β; γ = 1 and β = 0 when the
    /// module is not affine).
    /// </summary>
    /// <exception cref="InvalidOperationException">The module tracks no running statistics, so eval mode has no
    /// fixed affine map to fold.</exception>
    public static BatchNormParameters BatchNorm(BatchNorm2d bn)
    {
        ArgumentNullException.ThrowIfNull(bn);
        if (bn.running_mean is null || bn.running_var is null)
            throw new InvalidOperationException(
                "The batch norm has no running statistics (track_running_stats = false); it cannot be exported as a fixed per-channel affine map.");
        int c = (int)bn.num_features;
        float[] gamma = bn.weight is null ? Enumerable.Repeat(1f, c).ToArray() : ToFloatArray(bn.weight);
        float[] beta = bn.bias is null ? new float[c] : ToFloatArray(bn.bias);
        return new BatchNormParameters(gamma, beta, ToFloatArray(bn.running_mean), ToFloatArray(bn.running_var), bn.eps);
    }
}

/// <summary>
/// Adds TorchSharp modules to an <see cref="OnnxGraphBuilder"/>: an exporter for a network is then a walk over its
/// modules in forward order, one call per module (batch norms folded into the conv before them).
/// </summary>
public static class TorchOnnxExtensions
{
    /// <summary>
    /// Adds a 2-D convolution, with the batch norm that follows it folded in when <paramref name="bn"/> is given.
    /// </summary>
    /// <param name="builder">Graph being built.</param>
    /// <param name="input">Value the conv reads.</param>
    /// <param name="conv">The conv module (zero padding, not transposed).</param>
    /// <param name="bn">Inference-time parameters of the following batch norm over the conv's output channels, or
    /// null. Pass a <see cref="BatchNormParameters.Slice"/> when one batch norm follows several concatenated convs.</param>
    /// <param name="name">Name stem for the initializers and the output.</param>
    /// <returns>The output value.</returns>
    /// <exception cref="NotSupportedException">Transposed conv or non-zero padding mode.</exception>
    public static string Conv2d(this OnnxGraphBuilder builder, string input, Conv2d conv, BatchNormParameters? bn = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(conv);
        if (conv.transposed) throw new NotSupportedException("Transposed convolutions are not exported.");
        if (conv.padding_mode != PaddingModes.Zeros)
            throw new NotSupportedException($"Conv padding mode {conv.padding_mode} is not exported; only zero padding maps to ONNX Conv pads.");

        long[] weightShape = conv.weight.shape;
        float[] weight = TorchParameters.ToFloatArray(conv.weight);
        float[]? bias = conv.bias is null ? null : TorchParameters.ToFloatArray(conv.bias);
        if (bn is not null) (weight, bias) = BatchNormFolding.FoldIntoConv(weight, weightShape, bias, bn);

        long[] kernel = weightShape[2..];
        long[] stride = conv.stride;
        long[] dilation = conv.dilation;
        return builder.Conv(input, weight, weightShape, bias, stride, Pads(conv, kernel, stride, dilation), conv.groups, dilation, name);
    }

    /// <summary>Adds a 2-D convolution followed by the given batch norm module (eval-mode statistics), folded.</summary>
    public static string Conv2d(this OnnxGraphBuilder builder, string input, Conv2d conv, BatchNorm2d bn, string? name = null) =>
        builder.Conv2d(input, conv, TorchParameters.BatchNorm(bn), name);

    /// <summary>Adds a linear layer (y = x·Wᵀ + b) on a 2-D input as Gemm.</summary>
    public static string Linear(this OnnxGraphBuilder builder, string input, Linear linear, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(linear);
        float[] weight = TorchParameters.ToFloatArray(linear.weight);
        float[]? bias = linear.bias is null ? null : TorchParameters.ToFloatArray(linear.bias);
        return builder.FullyConnected(input, weight, linear.out_features, linear.in_features, bias, name);
    }

    /// <summary>ONNX pads (begins then ends) for the conv's padding, including the 'valid'/'same' string forms.</summary>
    private static long[] Pads(Conv2d conv, long[] kernel, long[] stride, long[] dilation)
    {
        if (conv.padding_type is null)
        {
            long[] p = conv.padding ?? new long[kernel.Length];
            return p.Concat(p).ToArray();
        }
        if (conv.padding_type == Padding.Valid) return new long[2 * kernel.Length];

        // 'same' (stride 1 only in PyTorch): total padding d·(k − 1), the odd extra unit at the end as PyTorch does.
        if (stride.Any(s => s != 1)) throw new NotSupportedException("Padding 'same' with stride > 1 is not defined by PyTorch.");
        var begins = new long[kernel.Length];
        var ends = new long[kernel.Length];
        for (int i = 0; i < kernel.Length; i++)
        {
            long total = dilation[i] * (kernel[i] - 1);
            begins[i] = total / 2;
            ends[i] = total - begins[i];
        }
        return begins.Concat(ends).ToArray();
    }
}
