namespace Sgnas.Data;

/// <summary>
/// Per-channel mean and standard deviation applied after scaling pixels to [0, 1]: x = (p / 255 − mean[c]) / std[c].
/// </summary>
public sealed record ChannelNormalization
{
    /// <summary>Creates a normalization; both arrays need one positive-std entry per channel.</summary>
    public ChannelNormalization(float[] mean, float[] std)
    {
        ArgumentNullException.ThrowIfNull(mean);
        ArgumentNullException.ThrowIfNull(std);
        if (mean.Length == 0 || mean.Length != std.Length)
            throw new ArgumentException($"mean and std need the same non-zero length (one per channel); got {mean.Length} and {std.Length}.");
        for (int c = 0; c < std.Length; c++)
            if (!(std[c] > 0) || !float.IsFinite(std[c]) || !float.IsFinite(mean[c]))
                throw new ArgumentException($"channel {c}: std must be positive and finite and mean finite; got mean {mean[c]}, std {std[c]}.");
        Mean = (float[])mean.Clone();
        Std = (float[])std.Clone();
    }

    /// <summary>Per-channel mean of pixels scaled to [0, 1].</summary>
    public float[] Mean { get; }

    /// <summary>Per-channel standard deviation of pixels scaled to [0, 1].</summary>
    public float[] Std { get; }

    /// <summary>Number of channels this normalization applies to.</summary>
    public int Channels => Mean.Length;

    /// <summary>Only the scaling to [0, 1] (mean 0, std 1).</summary>
    public static ChannelNormalization Identity(int channels) =>
        new(new float[channels], Enumerable.Repeat(1f, channels).ToArray());

    /// <summary>Fashion-MNIST training-set statistics (computed over the 60k training images).</summary>
    public static ChannelNormalization FashionMnist { get; } = new([0.2860f], [0.3530f]);

    /// <summary>CIFAR-10 training-set statistics as commonly published (e.g. in the SGNAS and DARTS reference code).</summary>
    public static ChannelNormalization Cifar10 { get; } = new([0.4914f, 0.4822f, 0.4465f], [0.2470f, 0.2435f, 0.2616f]);
}
