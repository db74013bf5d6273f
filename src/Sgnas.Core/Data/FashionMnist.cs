namespace Sgnas.Data;

/// <summary>
/// Fashion-MNIST (Xiao et al. 2017): 60k training and 10k test grayscale 28×28 images of 10 clothing classes,
/// as installed by the Debian package <c>dataset-fashion-mnist</c> (docs/design.md §6).
/// </summary>
public static class FashionMnist
{
    /// <summary>Where Debian's <c>dataset-fashion-mnist</c> installs the files.</summary>
    public const string DefaultFolder = "/usr/share/datasets/fashion-mnist";

    /// <summary>The class names in label order, as in the dataset's README.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>True if both files of <paramref name="split"/> are in <paramref name="folder"/> (default folder when null).</summary>
    public static bool IsAvailable(DatasetSplit split = DatasetSplit.Train, string? folder = null)
    {
        try { return IdxReader.FindPair(folder ?? DefaultFolder, split) != null; }
        catch (FileNotFoundException) { return false; }
    }

    /// <summary>Loads the 60k training images.</summary>
    /// <exception cref="FileNotFoundException">The files are not there; the message says which package installs them.</exception>
    public static ImageDataset LoadTrain(string? folder = null) => Load(DatasetSplit.Train, folder);

    /// <summary>Loads the 10k test images.</summary>
    /// <exception cref="FileNotFoundException">The files are not there; the message says which package installs them.</exception>
    public static ImageDataset LoadTest(string? folder = null) => Load(DatasetSplit.Test, folder);

    /// <summary>Loads one split from <paramref name="folder"/> (default folder when null).</summary>
    public static ImageDataset Load(DatasetSplit split, string? folder = null)
    {
        string dir = folder ?? DefaultFolder;
        (string Images, string Labels)? pair;
        try { pair = IdxReader.FindPair(dir, split); }
        catch (FileNotFoundException e) { throw Missing(dir, split, e); }
        if (pair == null) throw Missing(dir, split, null);
        return IdxReader.ReadPair(pair.Value.Images, pair.Value.Labels, ClassNames);
    }

    private static FileNotFoundException Missing(string dir, DatasetSplit split, Exception? inner)
    {
        string prefix = split == DatasetSplit.Train ? "train" : "t10k";
        return new FileNotFoundException(
            $"Fashion-MNIST {split.ToString().ToLowerInvariant()} files ({prefix}-images-idx3-ubyte.gz, {prefix}-labels-idx1-ubyte.gz) not found in '{dir}'. " +
            (dir == DefaultFolder
                ? "Install Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist), or pass the folder holding the files."
                : $"Pass the folder holding the files, or install Debian package dataset-fashion-mnist, which puts them in {DefaultFolder}.") + (inner != null ? " " + inner.Message : ""), inner);
    }
}
