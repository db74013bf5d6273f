using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Data;

/// <summary>
/// Transforms a float batch [N, C, H, W] with pixels in [0, 1] (before normalization) and returns a batch of the
/// same shape. <paramref name="random"/> is the only randomness it may use, so runs repeat under a seed.
/// </summary>
public delegate Tensor BatchAugmentation(Tensor images, Random random);

/// <summary>Standard augmentations as <see cref="BatchAugmentation"/> functions.</summary>
public static partial class BatchAugmentations
{
    /// <summary>
    /// Random crop after zero padding (black, since it runs before normalization) plus optional horizontal flip,
    /// each drawn per image: the CIFAR recipe of the SGNAS and DARTS reference code (padding 4, flip p = 0.5).
    /// </summary>
    public static BatchAugmentation CropAndFlip(int padding = 4, bool horizontalFlip = true)
    {
        if (padding < 0) throw new ArgumentOutOfRangeException(nameof(padding), padding, "padding must be ≥ 0.");
        return (images, random) => RandomCropAndFlip(images, padding, horizontalFlip, random);
    }

    /// <summary>Applies the crop-and-flip augmentation to <paramref name="images"/> [N, C, H, W].</summary>
    public static Tensor RandomCropAndFlip(Tensor images, int padding, bool horizontalFlip, Random random)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(random);
        if (images.dim() != 4) throw new ArgumentException($"images must be [N, C, H, W]; got shape [{string.Join(", ", images.shape)}].", nameof(images));
        long n = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        if (n == 0 || (padding == 0 && !horizontalFlip)) return images.alias();

        // Offsets and flips come from the managed Random so that the torch global generator plays no part.
        var rows = new long[n * h];
        var cols = new long[n * w];
        for (long i = 0; i < n; i++)
        {
            int dy = random.Next(2 * padding + 1), dx = random.Next(2 * padding + 1);
            bool flip = horizontalFlip && random.Next(2) == 1;
            for (long r = 0; r < h; r++) rows[i * h + r] = dy + r;
            for (long q = 0; q < w; q++) cols[i * w + q] = dx + (flip ? w - 1 - q : q);
        }

        using var scope = NewDisposeScope();
        var padded = padding > 0 ? nn.functional.pad(images, new long[] { padding, padding, padding, padding }) : images;
        var dev = images.device;
        // One gather for the whole batch: out[n, c, r, q] = padded[n, c, rows[n, r], cols[n, q]].
        var ni = arange(n, ScalarType.Int64, dev).view(n, 1, 1, 1);
        var ci = arange(c, ScalarType.Int64, dev).view(1, c, 1, 1);
        var ri = tensor(rows, new long[] { n, 1, h, 1 }, device: dev);
        var qi = tensor(cols, new long[] { n, 1, 1, w }, device: dev);
        var result = padded.index(TensorIndex.Tensor(ni), TensorIndex.Tensor(ci), TensorIndex.Tensor(ri), TensorIndex.Tensor(qi));
        return result.MoveToOuterDisposeScope();
    }
}
