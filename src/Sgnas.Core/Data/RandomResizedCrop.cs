using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Data;

public static partial class BatchAugmentations
{
    /// <summary>
    /// The ImageNet training augmentation (Inception / torchvision <c>RandomResizedCrop</c>, used by the MnasNet and
    /// EfficientNet recipes the paper retrains with): per image, a crop covering a random share of the area in
    /// <paramref name="minScale"/>..<paramref name="maxScale"/> with aspect ratio log-uniform in
    /// <paramref name="minRatio"/>..<paramref name="maxRatio"/>, resized bilinearly back to the input size, then an
    /// optional horizontal flip. The output keeps the input shape, as <see cref="BatchAugmentation"/> requires.
    /// </summary>
    public static BatchAugmentation RandomResizedCrop(double minScale = 0.08, double maxScale = 1.0,
        double minRatio = 3.0 / 4.0, double maxRatio = 4.0 / 3.0, bool horizontalFlip = true)
    {
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1))
            throw new ArgumentOutOfRangeException(nameof(minScale), $"need 0 < minScale ≤ maxScale ≤ 1; got {minScale}, {maxScale}.");
        if (!(minRatio > 0 && minRatio <= maxRatio))
            throw new ArgumentOutOfRangeException(nameof(minRatio), $"need 0 < minRatio ≤ maxRatio; got {minRatio}, {maxRatio}.");
        return (images, random) => RandomResizedCropAndFlip(images, minScale, maxScale, minRatio, maxRatio, horizontalFlip, random);
    }

    /// <summary>Applies <see cref="RandomResizedCrop"/> to <paramref name="images"/> [N, C, H, W].</summary>
    public static Tensor RandomResizedCropAndFlip(Tensor images, double minScale, double maxScale, double minRatio, double maxRatio,
        bool horizontalFlip, Random random)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(random);
        if (images.dim() != 4) throw new ArgumentException($"images must be [N, C, H, W]; got shape [{string.Join(", ", images.shape)}].", nameof(images));
        long n = images.shape[0];
        int h = (int)images.shape[2], w = (int)images.shape[3];
        if (n == 0) return images.alias();

        using var scope = NewDisposeScope();
        var outs = new Tensor[n];
        for (long i = 0; i < n; i++)
        {
            var (top, left, ch, cw) = CropBox(h, w, minScale, maxScale, minRatio, maxRatio, random);
            bool flip = horizontalFlip && random.Next(2) == 1;
            var crop = images.narrow(0, i, 1).narrow(2, top, ch).narrow(3, left, cw);
            var resized = nn.functional.interpolate(crop, new long[] { h, w }, mode: InterpolationMode.Bilinear, align_corners: false);
            outs[i] = flip ? resized.flip(3) : resized;
        }
        return cat(outs, 0).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The crop box (top, left, height, width) of one image: up to 10 draws of (area share, log-ratio), the first
    /// that fits wins; otherwise a centred crop with the ratio clamped to the range (torchvision's fallback).
    /// </summary>
    internal static (int Top, int Left, int Height, int Width) CropBox(int h, int w, double minScale, double maxScale,
        double minRatio, double maxRatio, Random random)
    {
        double area = (double)h * w;
        double logLo = Math.Log(minRatio), logHi = Math.Log(maxRatio);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (minScale + (maxScale - minScale) * random.NextDouble());
            double ratio = Math.Exp(logLo + (logHi - logLo) * random.NextDouble());
            int cw = (int)Math.Round(Math.Sqrt(target * ratio));
            int ch = (int)Math.Round(Math.Sqrt(target / ratio));
            if (cw > 0 && ch > 0 && cw <= w && ch <= h)
                return (random.Next(h - ch + 1), random.Next(w - cw + 1), ch, cw);
        }
        double inRatio = (double)w / h;
        int fw, fh;
        if (inRatio < minRatio) { fw = w; fh = (int)Math.Round(w / minRatio); }
        else if (inRatio > maxRatio) { fh = h; fw = (int)Math.Round(h * maxRatio); }
        else { fw = w; fh = h; }
        fh = Math.Clamp(fh, 1, h); fw = Math.Clamp(fw, 1, w);
        return ((h - fh) / 2, (w - fw) / 2, fh, fw);
    }
}
