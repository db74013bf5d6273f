using System.Buffers.Binary;

namespace Sgnas.Cli.Tests;

/// <summary>The tiny training set of the search tests: n random 8×8 grayscale images in three classes, as IDX files.</summary>
internal static class TinyIdx
{
    /// <summary>Writes <c>train-images-idx3-ubyte</c> and <c>train-labels-idx1-ubyte</c> (labels i mod 3) into <paramref name="dir"/>.</summary>
    public static void WriteTrain(string dir, int n, int size = 8, int classes = 3)
    {
        var r = new Random(1);
        var images = new byte[16 + n * size * size];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), n);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), size);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), size);
        r.NextBytes(images.AsSpan(16));
        var labels = new byte[8 + n];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), n);
        for (int i = 0; i < n; i++) labels[8 + i] = (byte)(i % classes);
        File.WriteAllBytes(Path.Combine(dir, "train-images-idx3-ubyte"), images);
        File.WriteAllBytes(Path.Combine(dir, "train-labels-idx1-ubyte"), labels);
    }
}
