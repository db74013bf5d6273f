namespace Sgnas.Data;

/// <summary>The on-disk layouts <see cref="DatasetLoader"/> recognises.</summary>
public enum DatasetFormat
{
    /// <summary>IDX files (MNIST, Fashion-MNIST), plain or gzipped.</summary>
    Idx,

    /// <summary>CIFAR-10 binary batches.</summary>
    Cifar10,

    /// <summary>CIFAR-100 binary files.</summary>
    Cifar100,

    /// <summary>One sub-folder of JPEG/PNG images per class.</summary>
    ImageFolder,
}

/// <summary>Loads a dataset from a path whose layout is detected from the files present, not from its name.</summary>
public static class DatasetLoader
{
    /// <summary>
    /// The layout of <paramref name="path"/>: an IDX images file, a folder with IDX files (<c>train-</c>/<c>t10k-</c>),
    /// a CIFAR binary folder, or an image-folder tree.
    /// </summary>
    /// <exception cref="FileNotFoundException">The path does not exist or holds none of these layouts.</exception>
    public static DatasetFormat Detect(string path)
    {
        if (File.Exists(path)) return DatasetFormat.Idx;
        if (!Directory.Exists(path)) throw new FileNotFoundException($"dataset path '{path}' does not exist.", path);
        if (IdxReader.FindPair(path, DatasetSplit.Train) != null || IdxReader.FindPair(path, DatasetSplit.Test) != null) return DatasetFormat.Idx;
        switch (CifarBinaryReader.Detect(path))
        {
            case CifarVariant.Cifar10: return DatasetFormat.Cifar10;
            case CifarVariant.Cifar100: return DatasetFormat.Cifar100;
        }
        if (ImageFolderIndex.LooksLikeImageFolder(path)) return DatasetFormat.ImageFolder;
        foreach (string sub in new[] { "train", "test", "val" })
            if (ImageFolderIndex.LooksLikeImageFolder(Path.Combine(path, sub))) return DatasetFormat.ImageFolder;
        throw new FileNotFoundException(
            $"'{path}' holds no dataset this library reads: IDX files (train-/t10k-images-idx3-ubyte[.gz] with labels-idx1), " +
            "CIFAR binaries (data_batch_1..5.bin/test_batch.bin or train.bin/test.bin), or one sub-folder of PNG/JPEG images per class.");
    }

    /// <summary>
    /// Loads <paramref name="split"/> of the dataset at <paramref name="path"/> into memory; null loads Fashion-MNIST
    /// from its default folder. Image folders need decoding and are loaded by the ML.NET layer instead.
    /// </summary>
    /// <param name="path">Dataset folder or IDX images file; null for Fashion-MNIST.</param>
    /// <param name="split">Train or test split.</param>
    /// <param name="cifarLabels">CIFAR-100 only: fine or coarse labels.</param>
    /// <exception cref="NotSupportedException">The path is an image folder.</exception>
    public static ImageDataset Load(string? path, DatasetSplit split = DatasetSplit.Train, CifarLabelKind cifarLabels = CifarLabelKind.Fine) =>
        Load(path, split, cifarLabels, imageShape: null);

    /// <summary>
    /// Decodes image-folder trees for <see cref="Load(string?, DatasetSplit, CifarLabelKind, ValueTuple{int, int}?)"/>:
    /// Sgnas.Core decodes no images, so a layer that does (Sgnas.MLNet's <c>ImageFolderDecoding.Register</c>, which
    /// the sgnas CLI calls) sets it. Arguments: root, split, and the (channels, size) to bring images to, or null
    /// for the images' own size and colour.
    /// </summary>
    public static Func<string, DatasetSplit, (int Channels, int Size)?, ImageDataset>? ImageFolderDecoder { get; set; }

    /// <summary>As <see cref="Load(string?, DatasetSplit, CifarLabelKind)"/>; image folders are decoded by
    /// <see cref="ImageFolderDecoder"/> and brought to <paramref name="imageShape"/> when it is given.</summary>
    public static ImageDataset Load(string? path, DatasetSplit split, CifarLabelKind cifarLabels, (int Channels, int Size)? imageShape)
    {
        if (path == null)
        {
            var fm = FashionMnist.Load(split);
            return fm.WithSource($"Fashion-MNIST {(split == DatasetSplit.Train ? "training" : "test")} set ({FashionMnist.DefaultFolder})");
        }
        switch (Detect(path))
        {
            case DatasetFormat.Idx:
                // A single images file has no test set: train and test are disjoint held-out parts of it.
                return IdxReader.LoadSplit(path, split);
            case DatasetFormat.Cifar10:
            case DatasetFormat.Cifar100:
                return CifarBinaryReader.Read(path, split, cifarLabels);
            default:
                if (ImageFolderDecoder is { } decode) return decode(path, split, imageShape);
                throw new NotSupportedException(
                    $"'{path}' is an image folder; Sgnas.Core decodes no images. Load it with Sgnas.MLNet: " +
                    "mlContext.Data.LoadFromImageFolder(root, width, height) and convert with view.ToImageDataset().");
        }
    }

    /// <summary>
    /// Where <see cref="Load(string?, DatasetSplit, CifarLabelKind)"/> (or the ML.NET image-folder loader) takes <paramref name="split"/> of
    /// <paramref name="path"/> from, in words for reports: the split's files, or the held-out part of data that have no
    /// separate test set. Reads no images.
    /// </summary>
    public static string Describe(string? path, DatasetSplit split)
    {
        string name = split == DatasetSplit.Train ? "training" : "test";
        if (path == null) return $"Fashion-MNIST {name} set ({FashionMnist.DefaultFolder})";
        switch (Detect(path))
        {
            case DatasetFormat.Idx:
                var pair = IdxReader.FindPair(path, split);
                if (pair is null) return $"no {name} split in {Path.GetFullPath(path)}";
                return File.Exists(path)
                    ? $"{(split == DatasetSplit.Test ? "held-out test part" : "training part")} of {Path.GetFullPath(pair.Value.Images)} " +
                      $"(stratified {DataSplit.HeldOutTestFraction:P0} held out, seed {DataSplit.HeldOutTestSeed}; no separate test file)"
                    : Path.GetFullPath(pair.Value.Images);
            case DatasetFormat.Cifar10:
            case DatasetFormat.Cifar100:
                return $"CIFAR {name} files in {Path.GetFullPath(path)}";
            default:
                return ImageFolderIndex.Scan(path, split).Source;
        }
    }
}
