using System.Buffers.Binary;
using System.IO.Compression;

namespace Sgnas.Core.Tests.Data;

/// <summary>Writes tiny datasets in the real on-disk formats into a temporary folder that is deleted on dispose.</summary>
internal sealed class DataFiles : IDisposable
{
    public DataFiles()
    {
        Root = Path.Combine(Path.GetTempPath(), "sgnas-data-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string PathOf(string name) => Path.Combine(Root, name);

    /// <summary>Pixel value of image i, row r, column c used by every writer here, so readers can be checked.</summary>
    public static byte Pixel(int i, int channel, int r, int c) => (byte)(i * 31 + channel * 17 + r * 7 + c * 3);

    public static byte[] IdxImages(int count, int rows, int cols, int magic = 0x00000803)
    {
        var b = new byte[16 + count * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(b, magic);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), cols);
        for (int i = 0; i < count; i++)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    b[16 + (i * rows + r) * cols + c] = Pixel(i, 0, r, c);
        return b;
    }

    public static byte[] IdxLabels(params byte[] labels)
    {
        var b = new byte[8 + labels.Length];
        BinaryPrimitives.WriteInt32BigEndian(b, 0x00000801);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), labels.Length);
        labels.CopyTo(b, 8);
        return b;
    }

    public static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>CIFAR records; CIFAR-100 when <paramref name="coarse"/> is given (coarse byte before the fine byte).</summary>
    public static byte[] CifarRecords(byte[] labels, byte[]? coarse = null, int firstImage = 0)
    {
        int lb = coarse == null ? 1 : 2, rec = lb + 3072;
        var b = new byte[labels.Length * rec];
        for (int i = 0; i < labels.Length; i++)
        {
            int o = i * rec;
            if (coarse != null) { b[o] = coarse[i]; b[o + 1] = labels[i]; }
            else b[o] = labels[i];
            for (int ch = 0; ch < 3; ch++)
                for (int r = 0; r < 32; r++)
                    for (int c = 0; c < 32; c++)
                        b[o + lb + ch * 1024 + r * 32 + c] = Pixel(firstImage + i, ch, r, c);
        }
        return b;
    }

    public string Write(string name, byte[] bytes)
    {
        string p = PathOf(name);
        Directory.CreateDirectory(Path.GetDirectoryName(p)!);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
