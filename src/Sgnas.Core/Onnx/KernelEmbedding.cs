namespace Sgnas.Onnx;

/// <summary>
/// Embeds a small convolution kernel in the centre of a larger, zero-filled one.
/// </summary>
/// <remarks>
/// A stride-s conv with odd kernel k and padding (k − 1)/2 computes, at every output position, the same sum as a
/// conv with odd kernel K ≥ k and padding (K − 1)/2 whose kernel is the small one surrounded by zeros: both windows
/// are centred on the same input pixel and the output sizes ⌊(H − 1)/s⌋ + 1 agree. This lets mixed depthwise kernels
/// (k ∈ {3, 5, 7} per channel group) become one depthwise conv with the largest kernel. It trades the per-group
/// Split/Concat for extra multiply-adds on zeros, so it is an option, not the default of the exporters.
/// Holds for dilation 1 only.
/// </remarks>
public static class KernelEmbedding
{
    /// <summary>Zero-pads the spatial dimensions of a conv weight [O, I, k, k] to [O, I, K, K], centred.</summary>
    /// <exception cref="ArgumentException">The kernel is not square, or K − k is negative or odd.</exception>
    public static float[] CenterPad(float[] weight, long[] weightShape, long targetKernel)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(weightShape);
        if (weightShape.Length != 4 || weightShape[2] != weightShape[3])
            throw new ArgumentException($"Expected a square 2-D conv weight [O, I, k, k], got [{string.Join(", ", weightShape)}].", nameof(weightShape));
        long k = weightShape[2];
        long planes = weightShape[0] * weightShape[1];
        if (planes * k * k != weight.Length)
            throw new ArgumentException($"Weight has {weight.Length} values, shape [{string.Join(", ", weightShape)}] holds {planes * k * k}.", nameof(weight));
        if (targetKernel < k || (targetKernel - k) % 2 != 0)
            throw new ArgumentException($"Cannot centre a {k}x{k} kernel in {targetKernel}x{targetKernel}: the size difference must be even and >= 0.", nameof(targetKernel));

        long offset = (targetKernel - k) / 2;
        var result = new float[planes * targetKernel * targetKernel];
        for (long p = 0; p < planes; p++)
            for (long y = 0; y < k; y++)
                Array.Copy(weight, p * k * k + y * k,
                    result, p * targetKernel * targetKernel + (y + offset) * targetKernel + offset, k);
        return result;
    }
}
