using System.Buffers.Binary;
using System.IO.Compression;

namespace Sgnas.Data;

/// <summary>The images of one IDX file: <see cref="Count"/> images of <see cref="Rows"/> × <see cref="Columns"/> bytes.</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Image height.</param>
/// <param name="Columns">Image width.</param>
/// <param name="Pixels">Row-major pixels, image after image.</param>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>
/// Reads IDX files as published for MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian
/// header (magic 0x00000803 for unsigned-byte images [N, rows, cols], 0x00000801 for unsigned-byte labels [N]),
/// then the data. Gzip compression is detected by its magic bytes (1F 8B), not by the file name.
/// </summary>
public static class IdxReader
{
    /// <summary>Magic number of an unsigned-byte, three-dimensional IDX file (images).</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an unsigned-byte, one-dimensional IDX file (labels).</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an images file (magic 0x00000803).</summary>
    /// <exception cref="InvalidDataException">Wrong magic, bad dimensions, truncated or over-long file.</exception>
    public static IdxImages ReadImages(string path)
    {
        var (dims, data) = Read(path, ImagesMagic);
        return new IdxImages(dims[0], dims[1], dims[2], data);
    }

    /// <summary>Reads a labels file (magic 0x00000801); one byte per label.</summary>
    /// <exception cref="InvalidDataException">Wrong magic, truncated or over-long file.</exception>
    public static byte[] ReadLabels(string path) => Read(path, LabelsMagic).Data;

    /// <summary>
    /// Reads an images file and its labels file as one grayscale dataset.
    /// </summary>
    /// <param name="imagesPath">The <c>*-images-idx3-ubyte[.gz]</c> file.</param>
    /// <param name="labelsPath">The <c>*-labels-idx1-ubyte[.gz]</c> file.</param>
    /// <param name="classNames">Class names; when null, the class count is the largest label + 1 (at least 10 when
    /// every label is below 10, as for MNIST-style sets whose subset may lack a class) and names are the numbers.</param>
    /// <exception cref="InvalidDataException">Either file is malformed, the counts differ, or a label is out of range.</exception>
    public static ImageDataset ReadPair(string imagesPath, string labelsPath, IReadOnlyList<string>? classNames = null)
    {
        var images = ReadImages(imagesPath);
        var raw = ReadLabels(labelsPath);
        if (raw.Length != images.Count)
            throw new InvalidDataException(
                $"image/label count mismatch: '{imagesPath}' holds {images.Count} images but '{labelsPath}' holds {raw.Length} labels.");

        var labels = new int[raw.Length];
        int max = -1;
        for (int i = 0; i < raw.Length; i++) { labels[i] = raw[i]; max = Math.Max(max, raw[i]); }
        int classCount = classNames?.Count ?? Math.Max(max + 1, 10);
        if (max >= classCount)
        {
            int at = Array.FindIndex(labels, l => l >= classCount);
            throw new InvalidDataException(
                $"'{labelsPath}': label {labels[at]} at offset {8 + at} (record {at}) is outside the {classCount} classes given.");
        }
        return new ImageDataset(images.Pixels, 1, images.Rows, images.Columns, labels, classCount, classNames);
    }

    /// <summary>
    /// Loads <paramref name="split"/> of IDX data honestly: from a folder, the <c>train-</c> or <c>t10k-</c> files;
    /// from a single images file (which has no separate test set), the training or the held-out test part of it
    /// (<see cref="DataSplit.HeldOutSplit"/>), so test images are never training images. <see cref="ImageDataset.Source"/>
    /// says which.
    /// </summary>
    /// <exception cref="FileNotFoundException">No files for the split.</exception>
    /// <exception cref="InvalidDataException">A file is malformed.</exception>
    public static ImageDataset LoadSplit(string folderOrImagesFile, DatasetSplit split, IReadOnlyList<string>? classNames = null)
    {
        var pair = FindPair(folderOrImagesFile, split) ?? throw new FileNotFoundException(
            $"'{folderOrImagesFile}' has IDX files but none for the {split.ToString().ToLowerInvariant()} split ({(split == DatasetSplit.Train ? "train-" : "t10k-")}images-idx3-ubyte[.gz]).");
        var data = ReadPair(pair.Images, pair.Labels, classNames);
        if (!File.Exists(folderOrImagesFile)) return data.WithSource(Path.GetFullPath(pair.Images));
        string file = Path.GetFullPath(pair.Images);
        int[] part;
        try { part = DataSplit.HeldOutSplit(data.Labels, split); }
        catch (ArgumentException e)
        {
            throw new InvalidDataException(
                $"'{file}' holds {data.Count} images, too few to hold out a test part that is never trained on ({e.Message}); " +
                "give a folder with separate train- and t10k- files, or more images.", e);
        }
        string source = split == DatasetSplit.Test
            ? $"held-out test part of {file}: {part.Length} of {data.Count} images (stratified {DataSplit.HeldOutTestFraction:P0}, seed {DataSplit.HeldOutTestSeed}; never used for training)"
            : $"training part of {file}: {part.Length} of {data.Count} images ({DataSplit.HeldOutTestFraction:P0} held out as the test set)";
        return data.Subset(part).WithSource(source);
    }

    /// <summary>
    /// Finds the images and labels files of <paramref name="split"/> in <paramref name="folderOrImagesFile"/>:
    /// <c>train-</c> or <c>t10k-</c> (also <c>test-</c>) followed by <c>images-idx3-ubyte</c> / <c>labels-idx1-ubyte</c>
    /// (or <c>images.idx3-ubyte</c>), optionally <c>.gz</c>. Given an images file, the labels file is its sibling
    /// with <c>images</c>/<c>idx3</c> replaced by <c>labels</c>/<c>idx1</c>, and <paramref name="split"/> is ignored.
    /// </summary>
    /// <returns>The two paths, or null when <paramref name="folderOrImagesFile"/> is a folder without such files.</returns>
    public static (string Images, string Labels)? FindPair(string folderOrImagesFile, DatasetSplit split)
    {
        if (File.Exists(folderOrImagesFile))
        {
            string name = Path.GetFileName(folderOrImagesFile);
            string labelsName = name.Replace("images", "labels", StringComparison.Ordinal).Replace("idx3", "idx1", StringComparison.Ordinal);
            if (labelsName == name)
                throw new ArgumentException($"'{folderOrImagesFile}' is not named like an IDX images file (*-images-idx3-ubyte[.gz]).");
            string dir = Path.GetDirectoryName(Path.GetFullPath(folderOrImagesFile))!;
            string labels = Path.Combine(dir, labelsName);
            if (!File.Exists(labels))
            {
                // The images may be gzipped and the labels not, or the other way round.
                string alt = labels.EndsWith(".gz", StringComparison.Ordinal) ? labels[..^3] : labels + ".gz";
                if (!File.Exists(alt)) throw new FileNotFoundException($"labels file for '{folderOrImagesFile}' not found: expected '{labels}'.", labels);
                labels = alt;
            }
            return (folderOrImagesFile, labels);
        }
        if (!Directory.Exists(folderOrImagesFile)) return null;

        string[] prefixes = split == DatasetSplit.Train ? ["train"] : ["t10k", "test"];
        foreach (string prefix in prefixes)
        {
            string? images = FirstExisting(folderOrImagesFile, $"{prefix}-images-idx3-ubyte", $"{prefix}-images.idx3-ubyte");
            string? labels = FirstExisting(folderOrImagesFile, $"{prefix}-labels-idx1-ubyte", $"{prefix}-labels.idx1-ubyte");
            if (images != null && labels != null) return (images, labels);
            if (images != null || labels != null)
                throw new FileNotFoundException(
                    $"'{folderOrImagesFile}' has {(images != null ? $"'{Path.GetFileName(images)}' but no {prefix}-labels-idx1-ubyte[.gz]" : $"'{Path.GetFileName(labels)}' but no {prefix}-images-idx3-ubyte[.gz]")}.");
        }
        return null;
    }

    private static string? FirstExisting(string folder, params string[] stems)
    {
        foreach (string stem in stems)
            foreach (string name in new[] { stem, stem + ".gz" })
            {
                string p = Path.Combine(folder, name);
                if (File.Exists(p)) return p;
            }
        return null;
    }

    /// <summary>True if the file starts with the gzip magic bytes 1F 8B.</summary>
    public static bool IsGzip(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> head = stackalloc byte[2];
        return f.ReadAtLeast(head, 2, throwOnEndOfStream: false) == 2 && head[0] == 0x1F && head[1] == 0x8B;
    }

    private static (int[] Dims, byte[] Data) Read(string path, int expectedMagic)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file '{path}' not found.", path);
        bool gz = IsGzip(path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        using Stream s = gz ? new GZipStream(file, CompressionMode.Decompress) : file;
        // For gzip files, offsets below are in the decompressed stream.
        string where = gz ? " (offsets in the decompressed data)" : "";
        try
        {
            Span<byte> word = stackalloc byte[4];
            ReadHeaderWord(s, word, path, 0, where);
            int magic = BinaryPrimitives.ReadInt32BigEndian(word);
            if (magic != expectedMagic)
                throw new InvalidDataException(
                    $"'{path}': magic number 0x{magic:X8} at offset 0, expected 0x{expectedMagic:X8} " +
                    $"({(expectedMagic == ImagesMagic ? "unsigned-byte images" : "unsigned-byte labels")}){Describe(magic)}.");

            int rank = expectedMagic & 0xFF;
            var dims = new int[rank];
            long size = 1;
            for (int d = 0; d < rank; d++)
            {
                ReadHeaderWord(s, word, path, 4 + 4 * d, where);
                dims[d] = BinaryPrimitives.ReadInt32BigEndian(word);
                if (dims[d] < 0 || (d > 0 && dims[d] == 0))
                    throw new InvalidDataException($"'{path}': dimension {d} at offset {4 + 4 * d} is {dims[d]}.");
                size *= dims[d];
                if (size > Array.MaxLength)
                    throw new InvalidDataException($"'{path}': dimensions [{string.Join(", ", dims[..(d + 1)])}] exceed the largest array .NET supports.");
            }

            long header = 4 + 4L * rank;
            if (!gz && file.Length != header + size)
                throw new InvalidDataException(file.Length < header + size
                    ? $"'{path}' is truncated: header [{string.Join(", ", dims)}] needs {header + size} bytes, the file has {file.Length} (data ends at offset {file.Length})."
                    : $"'{path}' has {file.Length - header - size} bytes after the data: header [{string.Join(", ", dims)}] needs {header + size} bytes, the file has {file.Length}.");

            var data = gz ? ReadGrowing(s, size) : new byte[size];
            int got = gz ? data.Length : s.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
            if (got < size)
                throw new InvalidDataException(
                    $"'{path}' is truncated: header [{string.Join(", ", dims)}] needs {header + size} bytes, data ends at offset {header + got}{where}.");
            if (gz && s.ReadByte() >= 0)
                throw new InvalidDataException(
                    $"'{path}' has bytes after offset {header + size}{where}, where header [{string.Join(", ", dims)}] says the data ends.");
            return (dims, data);
        }
        catch (Exception e) when (gz && e is InvalidDataException or IOException && !e.Message.Contains(path, StringComparison.Ordinal))
        {
            // GZipStream's own errors (e.g. "unsupported compression method" for damaged data) name neither the file
            // nor the problem a user can act on.
            throw new InvalidDataException(
                $"'{path}' is not valid gzip data: it starts with the gzip signature 1F 8B but cannot be decompressed ({e.Message.TrimEnd('.')}). " +
                "The file is damaged or cut off; download it again, or give the uncompressed IDX file.", e);
        }
    }

    /// <summary>
    /// Reads up to <paramref name="size"/> bytes from a decompressing stream, growing the buffer as data arrives, so
    /// a damaged header that claims gigabytes costs only what the stream really holds. Returns what was read.
    /// </summary>
    private static byte[] ReadGrowing(Stream s, long size)
    {
        var buffer = new byte[(int)Math.Min(size, 1 << 20)];
        int filled = 0;
        while (filled < size)
        {
            if (filled == buffer.Length) Array.Resize(ref buffer, (int)Math.Min(size, (long)buffer.Length * 2));
            int n = s.Read(buffer, filled, buffer.Length - filled);
            if (n == 0) break;
            filled += n;
        }
        if (filled < buffer.Length) Array.Resize(ref buffer, filled);
        return buffer;
    }

    private static void ReadHeaderWord(Stream s, Span<byte> word, string path, long offset, string where)
    {
        int got = s.ReadAtLeast(word, 4, throwOnEndOfStream: false);
        if (got < 4)
            throw new InvalidDataException($"'{path}' is truncated: header ends at offset {offset + got}{where}, inside the 4-byte field at offset {offset}.");
    }

    private static string Describe(int magic) =>
        magic == ImagesMagic ? " — this is an images file" :
        magic == LabelsMagic ? " — this is a labels file" :
        (magic >> 16) != 0 ? " — not an IDX file (the first two bytes must be zero)" :
        $" — IDX type 0x{(magic >> 8) & 0xFF:X2} with {magic & 0xFF} dimensions is not supported";
}
