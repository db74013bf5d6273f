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
    /// Lists <paramref name="root"/>. When <paramref name="split"/> is given and <paramref name="root"/> has a
    /// <c>train</c> (or <c>test</c>, else <c>val</c>) sub-folder, that sub-folder is the tree.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The root is missing.</exception>
    /// <exception cref="InvalidDataException">No class folder holds images, or a class folder is empty.</exception>
    public static ImageFolderIndex Scan(string root, DatasetSplit? split = null)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"image folder '{root}' not found.");
        string dir = Path.GetFullPath(root);
        if (split != null)
        {
            string[] names = split == DatasetSplit.Train ? ["train"] : ["test", "val"];
            string? sub = names.Select(n => Path.Combine(dir, n)).FirstOrDefault(Directory.Exists);
            if (sub != null) dir = sub;
        }

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
        return new ImageFolderIndex(dir, classNames, files);
    }

    /// <summary>Absolute path of a file listed in <see cref="Files"/>.</summary>
    public string FullPath(string relativePath) => Path.Combine(Root, relativePath);

    private static IEnumerable<string> EnumerateImages(string dir) =>
        Directory.EnumerateFiles(dir).Where(f => ImageExtensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase));
}
