using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Data;

/// <summary>
/// Images with class labels held in memory as raw 8-bit pixels, each image in CHW order (all of channel 0, then
/// channel 1, ...), images back to back. One byte per pixel keeps Fashion-MNIST (47 MB) and CIFAR (150 MB) small;
/// floats are made per batch by <see cref="ToBatch(ReadOnlySpan{int}, ChannelNormalization, Device?)"/>.
/// </summary>
public sealed class ImageDataset
{
    /// <summary>
    /// Wraps <paramref name="pixels"/> (not copied) of <c>labels.Length</c> images of <c>channels × height × width</c> bytes.
    /// </summary>
    /// <param name="pixels">Raw pixels, image after image, each in CHW order.</param>
    /// <param name="channels">Channels per image (1 gray, 3 RGB).</param>
    /// <param name="height">Image height in pixels.</param>
    /// <param name="width">Image width in pixels.</param>
    /// <param name="labels">Class index per image, in [0, <paramref name="classCount"/>).</param>
    /// <param name="classCount">Number of classes.</param>
    /// <param name="classNames">One name per class; null names the classes "0", "1", ...</param>
    public ImageDataset(byte[] pixels, int channels, int height, int width, int[] labels, int classCount,
        IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"image shape must be positive; got {channels}×{height}×{width}.");
        if (classCount <= 0) throw new ArgumentException($"classCount must be positive; got {classCount}.", nameof(classCount));
        long imageSize = (long)channels * height * width;
        if (pixels.LongLength != imageSize * labels.Length)
            throw new ArgumentException(
                $"pixels has {pixels.LongLength} bytes; {labels.Length} images of {channels}×{height}×{width} need {imageSize * labels.Length}.",
                nameof(pixels));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classCount)
                throw new ArgumentException($"label of image {i} is {labels[i]}, outside [0, {classCount}).", nameof(labels));
        if (classNames != null && classNames.Count != classCount)
            throw new ArgumentException($"{classNames.Count} class names given for {classCount} classes.", nameof(classNames));

        Pixels = pixels;
        Channels = channels;
        Height = height;
        Width = width;
        ImageSize = (int)imageSize;
        Labels = labels;
        ClassCount = classCount;
        ClassNames = classNames?.ToArray() ?? Enumerable.Range(0, classCount).Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    /// <summary>
    /// Where the images come from, for reports (e.g. the test file, or the held-out part of a file that has no
    /// separate test set); null when unknown.
    /// </summary>
    public string? Source { get; private init; }

    /// <summary>The same images (shared, not copied) with <see cref="Source"/> set.</summary>
    public ImageDataset WithSource(string? source) =>
        new(Pixels, Channels, Height, Width, Labels, ClassCount, ClassNames) { Source = source };

    /// <summary>Raw pixels, <see cref="Count"/> × <see cref="ImageSize"/> bytes, each image in CHW order.</summary>
    public byte[] Pixels { get; }

    /// <summary>Channels per image.</summary>
    public int Channels { get; }

    /// <summary>Image height in pixels.</summary>
    public int Height { get; }

    /// <summary>Image width in pixels.</summary>
    public int Width { get; }

    /// <summary>Bytes per image: Channels × Height × Width.</summary>
    public int ImageSize { get; }

    /// <summary>Class index per image.</summary>
    public int[] Labels { get; }

    /// <summary>Number of classes (labels lie in [0, ClassCount)).</summary>
    public int ClassCount { get; }

    /// <summary>One name per class.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Number of images.</summary>
    public int Count => Labels.Length;

    /// <summary>The raw CHW pixels of image <paramref name="index"/>.</summary>
    public ReadOnlySpan<byte> GetImage(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index), index, $"dataset has {Count} images.");
        return Pixels.AsSpan(index * ImageSize, ImageSize);
    }

    /// <summary>A copy holding the images at <paramref name="indices"/>, in that order (repeats allowed).</summary>
    public ImageDataset Subset(ReadOnlySpan<int> indices)
    {
        var pixels = new byte[(long)indices.Length * ImageSize];
        var labels = new int[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            GetImage(indices[i]).CopyTo(pixels.AsSpan(i * ImageSize, ImageSize));
            labels[i] = Labels[indices[i]];
        }
        return new ImageDataset(pixels, Channels, Height, Width, labels, ClassCount, ClassNames);
    }

    /// <summary>Number of images per class, indexed by class.</summary>
    public int[] CountPerClass()
    {
        var counts = new int[ClassCount];
        foreach (int l in Labels) counts[l]++;
        return counts;
    }

    /// <summary>Per-channel mean and standard deviation of the pixels scaled to [0, 1], over all images.</summary>
    public ChannelNormalization ComputeNormalization()
    {
        if (Count == 0) throw new InvalidOperationException("cannot compute statistics of an empty dataset.");
        // Histograms keep this exact and fast: 256 bins per channel instead of a double per pixel.
        var hist = new long[Channels, 256];
        int plane = Height * Width;
        for (int i = 0; i < Count; i++)
        {
            var img = GetImage(i);
            for (int c = 0; c < Channels; c++)
                foreach (byte p in img.Slice(c * plane, plane)) hist[c, p]++;
        }
        var mean = new float[Channels];
        var std = new float[Channels];
        for (int c = 0; c < Channels; c++)
        {
            double n = 0, s = 0, s2 = 0;
            for (int v = 0; v < 256; v++)
            {
                double x = v / 255.0;
                n += hist[c, v]; s += hist[c, v] * x; s2 += hist[c, v] * x * x;
            }
            double m = s / n;
            mean[c] = (float)m;
            std[c] = (float)Math.Sqrt(Math.Max(s2 / n - m * m, 1e-12));
        }
        return new ChannelNormalization(mean, std);
    }

    /// <summary>All images as one batch; see <see cref="ToBatch(ReadOnlySpan{int}, ChannelNormalization, Device?)"/>.</summary>
    public ImageBatch ToBatch(ChannelNormalization normalization, Device? device = null) =>
        ToBatch(Enumerable.Range(0, Count).ToArray(), normalization, device);

    /// <summary>
    /// The images at <paramref name="indices"/> as a float32 tensor [N, C, H, W] with x = (p / 255 − mean[c]) / std[c],
    /// and their labels as an int64 tensor [N], both on <paramref name="device"/> (CPU when null).
    /// </summary>
    public ImageBatch ToBatch(ReadOnlySpan<int> indices, ChannelNormalization normalization, Device? device = null) =>
        MakeBatch(indices, normalization, device, augmentation: null, random: null);

    internal ImageBatch MakeBatch(ReadOnlySpan<int> indices, ChannelNormalization normalization, Device? device,
        BatchAugmentation? augmentation, Random? random)
    {
        ArgumentNullException.ThrowIfNull(normalization);
        if (normalization.Channels != Channels)
            throw new ArgumentException($"normalization has {normalization.Channels} channels; the images have {Channels}.", nameof(normalization));

        var bytes = new byte[(long)indices.Length * ImageSize];
        var labels = new long[indices.Length];
        for (int i = 0; i < indices.Length; i++)
        {
            GetImage(indices[i]).CopyTo(bytes.AsSpan(i * ImageSize, ImageSize));
            labels[i] = Labels[indices[i]];
        }

        using var scope = NewDisposeScope();
        // Bytes cross to the device before conversion: a quarter of the float traffic.
        var x = tensor(bytes, new long[] { indices.Length, Channels, Height, Width }, ScalarType.Byte);
        if (device != null) x = x.to(device);
        using (var full = 255f.ToScalar()) x = x.to_type(ScalarType.Float32).div_(full); // held: see HeldScalars
        if (augmentation != null) x = augmentation(x, random ?? new Random(0));
        var mean = tensor(normalization.Mean, new long[] { 1, Channels, 1, 1 }, device: x.device);
        var std = tensor(normalization.Std, new long[] { 1, Channels, 1, 1 }, device: x.device);
        x = x.sub(mean).div_(std);
        var y = tensor(labels, new long[] { indices.Length }, ScalarType.Int64, device: x.device);
        return new ImageBatch(x.MoveToOuterDisposeScope(), y.MoveToOuterDisposeScope(), indices.ToArray());
    }
}
