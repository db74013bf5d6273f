using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Sgnas.MLNet.Tests.Data;

/// <summary>Writes minimal 8-bit PNGs (gray or RGB, no filtering) so tests need no imaging library.</summary>
internal static class PngWriter
{
    /// <summary>PNG bytes of an image given as CHW bytes with 1 (gray) or 3 (RGB) channels.</summary>
    public static byte[] Encode(byte[] chw, int channels, int height, int width)
    {
        var raw = new byte[height * (1 + width * channels)];
        for (int r = 0, o = 0; r < height; r++)
        {
            raw[o++] = 0; // filter type None
            for (int c = 0; c < width; c++)
                for (int ch = 0; ch < channels; ch++)
                    raw[o++] = chw[(ch * height + r) * width + c];
        }
        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Fastest)) z.Write(raw);

        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8;                              // bit depth
        ihdr[9] = (byte)(channels == 1 ? 0 : 2);  // gray or truecolour

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Chunk(png, "IHDR", ihdr);
        Chunk(png, "IDAT", idat.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream s, string type, byte[] data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        var typed = Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(typed);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32(typed));
        s.Write(word);
    }

    private static uint Crc32(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
        }
        return ~crc;
    }
}
