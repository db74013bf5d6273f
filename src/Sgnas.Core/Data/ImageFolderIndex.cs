namespace Sgnas.Data;

/// <summary>
/// The files of an image-folder tree: one sub-folder per class, named after the class, holding image files.
/// Classes are the sub-folder names in ordinal order; files are ordered by ordinal relative path. Only lists
/// files: decoding happens in the ML.NET layer (<c>LoadFromImageFolder</c> in Sgnas.MLNet).
/// </summary>
public sealed class ImageFolderIndex
{
    /// <summary>File extensions taken as images (case-insensitive).</summary>
    public static IReadOnlyList<string> ImageExtensions { get; } = [".png", ".jpg", ".jpeg"];

    private ImageFolderIndex(string root, IReadOnlyList<string> classNames, IReadOnlyList<(string RelativePath, int Label)> files)
    {
        Root = root;
        ClassNames = classNames;
        Files = files;
    }

    /// <summary>Absolute path of the tree's root (the folder holding the class folders).</summary>
    public string Root { get; }

    /// <summary>Class names: the class sub-folder names, ordinal order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Every image with its class index; paths relative to <see cref="Root"/> with '/' separators.</summary>
    public IReadOnlyList<(string RelativePath, int Label)> Files { get; }

    /// <summary>True if <paramref name="folder"/> has a sub-folder that directly holds an image file.</summary>
    public static bool LooksLikeImageFolder(string folder) =>
        Directory.Exists(folder) && Directory.EnumerateDirectories(folder).Any(d => EnumerateImages(d).Any());

    /// <summary>
    /// Lists <paramref name="root"/>. When <paramref name="split"/> is given, the <c>train</c> sub-folder is the
    /// training tree and <c>test</c> (else <c>val</c>) the test tree. When the tree has no test sub-folder, the test
    /// set is a held-out part of the training tree (<see cref="DataSplit.HeldOutTestFraction"/> of the files, chosen by
    /// a hash of each path, <see cref="DataSplit.IsHeldOut"/>), and the training split leaves those files out, so test
    /// images are never training images. <see cref="Source"/> says which.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The root is missing.</exception>
    /// <exception cref="InvalidDataException">No class folder holds images, or a class folder is empty.</exception>
    public static ImageFolderIndex Scan(string root, DatasetSplit? split = null)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"image folder '{root}' not found.");
        string dir = Path.GetFullPath(root);
        bool? heldOutPart = null; // null: whole tree; true: keep held-out files; false: drop them
        if (split != null)
        {
            string? trainDir = Directory.Exists(Path.Combine(dir, "train")) ? Path.Combine(dir, "train") : null;
            string? testDir = new[] { "test", "val" }.Select(n => Path.Combine(dir, n)).FirstOrDefault(Directory.Exists);
            dir = split == DatasetSplit.Train ? trainDir ?? dir : testDir ?? trainDir ?? dir;
            if (testDir is null) heldOutPart = split == DatasetSplit.Test;
        }
        var index = ScanTree(dir);
        if (heldOutPart is not bool test) return index;
        var files = index.Files.Where(f => DataSplit.IsHeldOut(f.RelativePath, DataSplit.HeldOutTestSeed, DataSplit.HeldOutTestFraction) == test).ToList();
        if (files.Count == 0)
            throw new InvalidDataException(
                $"'{dir}' has no test/ or val/ sub-folder and too few images ({index.Files.Count}) to hold out a {DataSplit.HeldOutTestFraction:P0} test part; " +
                "add a test/ sub-folder with one folder per class.");
        string source = test
            ? $"held-out test part of {dir}: {files.Count} of {index.Files.Count} images ({DataSplit.HeldOutTestFraction:P0} by path hash, seed {DataSplit.HeldOutTestSeed}; no test/ or val/ sub-folder; never used for training)"
            : $"training part of {dir}: {files.Count} of {index.Files.Count} images ({DataSplit.HeldOutTestFraction:P0} held out as the test set)";
        return new ImageFolderIndex(index.Root, index.ClassNames, files) { Source = source };
    }

    /// <summary>Where the listed images come from (the tree, or the held-out or training part of it).</summary>
    public string Source { get; private init; } = "";

    private static ImageFolderIndex ScanTree(string dir)
    {
        var classDirs = Directory.GetDirectories(dir).OrderBy(d => Path.GetFileName(d), StringComparer.Ordinal).ToArray();
        if (classDirs.Length == 0)
            throw new InvalidDataException($"'{dir}' has no class sub-folders; an image folder holds one sub-folder per class.");
        var classNames = new List<string>();
        var files = new List<(string, int)>();
        foreach (string cd in classDirs)
        {
            var images = EnumerateImages(cd).Select(f => Path.GetFileName(cd) + "/" + Path.GetFileName(f)).OrderBy(f => f, StringComparer.Ordinal).ToArray();
            if (images.Length == 0)
                throw new InvalidDataException(
                    $"class folder '{cd}' holds no {string.Join("/", ImageExtensions)} files; remove it or add images, since every sub-folder is a class.");
            foreach (string f in images) files.Add((f, classNames.Count));
            classNames.Add(Path.GetFileName(cd));
        }
        return new ImageFolderIndex(dir, classNames, files) { Source = dir };
    }

    /// <summary>Absolute path of a file listed in <see cref="Files"/>.</summary>
    public string FullPath(string relativePath) => Path.Combine(Root, relativePath);

    private static IEnumerable<string> EnumerateImages(string dir) =>
        Directory.EnumerateFiles(dir).Where(f => ImageExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase));
}
