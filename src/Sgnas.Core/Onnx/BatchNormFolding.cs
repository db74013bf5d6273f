namespace Sgnas.Onnx;

/// <summary>
/// Inference-time statistics and affine parameters of a batch normalisation over channels:
/// y = γ·(x − μ)/√(σ² + ε) + β with running mean μ and running variance σ².
/// </summary>
public sealed record BatchNormParameters
{
    /// <summary>Checks that all four vectors have one value per channel and that ε is usable.</summary>
    public BatchNormParameters(float[] gamma, float[] beta, float[] runningMean, float[] runningVar, double eps)
    {
        ArgumentNullException.ThrowIfNull(gamma);
        ArgumentNullException.ThrowIfNull(beta);
        ArgumentNullException.ThrowIfNull(runningMean);
        ArgumentNullException.ThrowIfNull(runningVar);
        int c = gamma.Length;
        if (beta.Length != c || runningMean.Length != c || runningVar.Length != c)
            throw new ArgumentException(
                $"Batch norm vectors differ in length: gamma {c}, beta {beta.Length}, mean {runningMean.Length}, var {runningVar.Length}.");
        if (!(eps >= 0) || double.IsInfinity(eps)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "Batch norm epsilon must be finite and >= 0.");
        for (int i = 0; i < c; i++)
            if (!(runningVar[i] + eps > 0))
                throw new ArgumentException($"Batch norm channel {i} has variance {runningVar[i]} + eps {eps} <= 0; it cannot be folded.", nameof(runningVar));
        Gamma = gamma;
        Beta = beta;
        RunningMean = runningMean;
        RunningVar = runningVar;
        Eps = eps;
    }

    /// <summary>Scale γ per channel.</summary>
    public float[] Gamma { get; }

    /// <summary>Shift β per channel.</summary>
    public float[] Beta { get; }

    /// <summary>Running mean μ per channel.</summary>
    public float[] RunningMean { get; }

    /// <summary>Running variance σ² per channel.</summary>
    public float[] RunningVar { get; }

    /// <summary>ε added to the variance.</summary>
    public double Eps { get; }

    /// <summary>Number of channels.</summary>
    public int Channels => Gamma.Length;

    /// <summary>
    /// The parameters of channels [start, start + count). A batch norm that follows a concatenation (e.g. of the
    /// mixed depthwise convs of a unified block) folds into each concatenated conv with that conv's slice.
    /// </summary>
    public BatchNormParameters Slice(int start, int count)
    {
        if (start < 0 || count < 1 || start + count > Channels)
            throw new ArgumentOutOfRangeException(nameof(count), $"Channels [{start}, {start + count}) are outside 0..{Channels}.");
        return new(Gamma[start..(start + count)], Beta[start..(start + count)],
            RunningMean[start..(start + count)], RunningVar[start..(start + count)], Eps);
    }
}

/// <summary>
/// Folds an inference-mode batch norm into the convolution before it, so the exported graph has no
/// BatchNormalization node.
/// </summary>
/// <remarks>
/// With s_o = γ_o / √(σ²_o + ε) for output channel o:
/// <code>
///   W'[o, ...] = s_o · W[o, ...]
///   b'[o]      = s_o · (b[o] − μ_o) + β_o        (b = 0 when the conv has no bias)
/// </code>
/// so that BN(conv(x; W, b)) = conv(x; W', b') exactly in real arithmetic. The arithmetic is done in double and
/// rounded once to float, which keeps the folded network within float rounding of the unfolded one.
/// </remarks>
public static class BatchNormFolding
{
    /// <summary>Per-channel scale s and shift t with BN(x) = s·x + t.</summary>
    public static (double[] Scale, double[] Shift) ScaleShift(BatchNormParameters bn)
    {
        ArgumentNullException.ThrowIfNull(bn);
        var scale = new double[bn.Channels];
        var shift = new double[bn.Channels];
        for (int o = 0; o < bn.Channels; o++)
        {
            scale[o] = bn.Gamma[o] / Math.Sqrt(bn.RunningVar[o] + bn.Eps);
            shift[o] = bn.Beta[o] - scale[o] * bn.RunningMean[o];
        }
        return (scale, shift);
    }

    /// <summary>Folds <paramref name="bn"/> into a conv weight [O, I/g, k...] and optional bias [O].</summary>
    /// <param name="weight">Conv weight, row-major.</param>
    /// <param name="weightShape">Its shape; the first dimension is the output channel count O.</param>
    /// <param name="bias">Conv bias [O], or null for a conv without bias.</param>
    /// <param name="bn">Batch norm over the O output channels.</param>
    /// <returns>New weight (same shape) and bias [O]; the inputs are not modified.</returns>
    /// <exception cref="ArgumentException">The sizes do not agree.</exception>
    public static (float[] Weight, float[] Bias) FoldIntoConv(float[] weight, long[] weightShape, float[]? bias, BatchNormParameters bn)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(weightShape);
        ArgumentNullException.ThrowIfNull(bn);
        if (weightShape.Length < 2) throw new ArgumentException("A conv weight has at least two dimensions.", nameof(weightShape));
        long outChannels = weightShape[0];
        long total = weightShape.Aggregate(1L, (a, d) => a * d);
        if (total != weight.Length)
            throw new ArgumentException($"Weight has {weight.Length} values but shape [{string.Join(", ", weightShape)}] holds {total}.", nameof(weightShape));
        if (outChannels != bn.Channels)
            throw new ArgumentException($"Conv has {outChannels} output channels but the batch norm has {bn.Channels}.", nameof(bn));
        if (bias is not null && bias.Length != outChannels)
            throw new ArgumentException($"Bias has {bias.Length} values for {outChannels} output channels.", nameof(bias));

        var (scale, shift) = ScaleShift(bn);
        long perChannel = total / outChannels;
        var w = new float[weight.Length];
        var b = new float[outChannels];
        for (int o = 0; o < outChannels; o++)
        {
            long start = o * perChannel;
            for (long i = start; i < start + perChannel; i++) w[i] = (float)(scale[o] * weight[i]);
            b[o] = (float)(scale[o] * (bias?[o] ?? 0f) + shift[o]);
        }
        return (w, b);
    }
}
