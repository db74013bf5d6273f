namespace Sgnas.Data;

/// <summary>Which CIFAR binary layout a folder holds.</summary>
public enum CifarVariant
{
    /// <summary>CIFAR-10: <c>data_batch_1..5.bin</c>, <c>test_batch.bin</c>; records of 1 label byte + 3072 pixel bytes.</summary>
    Cifar10,

    /// <summary>CIFAR-100: <c>train.bin</c>, <c>test.bin</c>; records of coarse label, fine label, 3072 pixel bytes.</summary>
    Cifar100,
}

/// <summary>Which CIFAR-100 label to use.</summary>
public enum CifarLabelKind
{
    /// <summary>The 100 fine classes.</summary>
    Fine,

    /// <summary>The 20 coarse superclasses.</summary>
    Coarse,
}

/// <summary>
/// Reads the binary versions of CIFAR-10 and CIFAR-100 (https://www.cs.toronto.edu/~kriz/cifar.html): 32×32 RGB
/// images stored as 1024 red, 1024 green, then 1024 blue bytes (already CHW), each after its label byte(s).
/// </summary>
public static class CifarBinaryReader
{
    /// <summary>Pixel bytes per record: 3 × 32 × 32.</summary>
    public const int ImageBytes = 3 * 32 * 32;

    private static readonly string[] Cifar10Names =
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>
    /// The variant whose files <paramref name="folder"/> holds, or null. The archive's own sub-folder
    /// (<c>cifar-10-batches-bin</c>, <c>cifar-100-binary</c>) is looked into as well.
    /// </summary>
    public static CifarVariant? Detect(string folder) => Resolve(folder)?.Variant;

    /// <summary>Reads one split of the CIFAR dataset in <paramref name="folder"/>.</summary>
    /// <param name="folder">Folder holding the <c>.bin</c> files (or the folder the archive was extracted into).</param>
    /// <param name="split">Train: the <c>data_batch_N.bin</c> files present (any non-empty subset of 1..5, in order of N)
    /// or <c>train.bin</c>; test: <c>test_batch.bin</c> or <c>test.bin</c>.</param>
    /// <param name="labels">CIFAR-100 only: fine (100) or coarse (20) labels.</param>
    /// <exception cref="FileNotFoundException">No CIFAR files, or a file of the split is missing.</exception>
    /// <exception cref="InvalidDataException">A file's length is not a whole number of records, or a label is out of range.</exception>
    public static ImageDataset Read(string folder, DatasetSplit split, CifarLabelKind labels = CifarLabelKind.Fine)
    {
        var found = Resolve(folder) ?? throw new FileNotFoundException(
            $"'{folder}' holds no CIFAR binary files (CIFAR-10: data_batch_1..5.bin, test_batch.bin; CIFAR-100: train.bin, test.bin).");
        string dir = found.Folder;
        string[] files = found.Variant == CifarVariant.Cifar10
            ? split == DatasetSplit.Train ? TrainBatches(dir) : ["test_batch.bin"]
            : split == DatasetSplit.Train ? ["train.bin"] : ["test.bin"];
        var paths = files.Select(f => Path.Combine(dir, f)).ToArray();
        foreach (string p in paths)
            if (!File.Exists(p)) throw new FileNotFoundException($"CIFAR {split} file '{p}' is missing.", p);
        return ReadFiles(paths, found.Variant, labels, ReadClassNames(dir, found.Variant, labels))
            .WithSource(string.Join(", ", paths.Select(Path.GetFullPath)));
    }

    /// <summary>Reads and concatenates CIFAR binary files of one variant.</summary>
    /// <param name="paths">The files, read in this order.</param>
    /// <param name="variant">Record layout.</param>
    /// <param name="labels">CIFAR-100 only: which label byte to use.</param>
    /// <param name="classNames">Class names; null uses the CIFAR-10 names or numbers.</param>
    public static ImageDataset ReadFiles(IReadOnlyList<string> paths, CifarVariant variant, CifarLabelKind labels = CifarLabelKind.Fine,
        IReadOnlyList<string>? classNames = null)
    {
        int labelBytes = variant == CifarVariant.Cifar10 ? 1 : 2;
        int labelAt = variant == CifarVariant.Cifar10 ? 0 : labels == CifarLabelKind.Coarse ? 0 : 1;
        int classCount = variant == CifarVariant.Cifar10 ? 10 : labels == CifarLabelKind.Coarse ? 20 : 100;
        int record = labelBytes + ImageBytes;
        classNames ??= variant == CifarVariant.Cifar10 ? Cifar10Names : null;
        if (classNames != null && classNames.Count != classCount)
            throw new ArgumentException($"{classNames.Count} class names given; {variant} {(variant == CifarVariant.Cifar100 ? labels + " " : "")}labels have {classCount} classes.");

        var sizes = new long[paths.Count];
        long total = 0;
        for (int f = 0; f < paths.Count; f++)
        {
            long length = new FileInfo(paths[f]).Length;
            if (length % record != 0)
                throw new InvalidDataException(
                    $"'{paths[f]}': length {length} is not a multiple of the {record}-byte {variant} record; " +
                    $"record {length / record} (offset {length / record * record}) is cut off after {length % record} bytes.");
            sizes[f] = length / record;
            total += sizes[f];
        }
        if (total * ImageBytes > Array.MaxLength) throw new InvalidDataException($"{total} CIFAR images exceed the largest array .NET supports.");
        if (total == 0)
            throw new InvalidDataException($"{string.Join(", ", paths.Select(p => $"'{p}'"))}: no {record}-byte {variant} records (the files are empty).");

        var pixels = new byte[total * ImageBytes];
        var labelArray = new int[total];
        long n = 0;
        for (int f = 0; f < paths.Count; f++)
        {
            byte[] bytes = File.ReadAllBytes(paths[f]);
            if (bytes.LongLength != sizes[f] * record)
                throw new InvalidDataException($"'{paths[f]}' changed length while being read.");
            for (long r = 0; r < sizes[f]; r++, n++)
            {
                long offset = r * record;
                int label = bytes[offset + labelAt];
                if (label >= classCount)
                    throw new InvalidDataException(
                        $"'{paths[f]}': record {r} (offset {offset + labelAt}) has {(variant == CifarVariant.Cifar10 ? "" : labels.ToString().ToLowerInvariant() + " ")}label {label}, outside [0, {classCount}).");
                labelArray[n] = label;
                Buffer.BlockCopy(bytes, (int)offset + labelBytes, pixels, (int)(n * ImageBytes), ImageBytes);
            }
        }
        return new ImageDataset(pixels, 3, 32, 32, labelArray, classCount, classNames);
    }

    /// <summary>The CIFAR-10 training batches present in <paramref name="dir"/>, ordered by batch number.</summary>
    /// <exception cref="FileNotFoundException">None is present.</exception>
    private static string[] TrainBatches(string dir)
    {
        var batches = Directory.EnumerateFiles(dir, "data_batch_*.bin")
            .Select(Path.GetFileName)
            .Select(n => (Name: n!, Ok: int.TryParse(n!["data_batch_".Length..^".bin".Length], out int k), Number: k))
            .Where(b => b.Ok)
            .OrderBy(b => b.Number)
            .Select(b => b.Name)
            .ToArray();
        if (batches.Length == 0)
            throw new FileNotFoundException($"'{dir}' holds no CIFAR-10 training batch (data_batch_1.bin .. data_batch_5.bin); at least one is needed.",
                Path.Combine(dir, "data_batch_1.bin"));
        return batches;
    }

    private static (string Folder, CifarVariant Variant)? Resolve(string folder)
    {
        if (!Directory.Exists(folder)) return null;
        foreach (string dir in new[] { folder, Path.Combine(folder, "cifar-10-batches-bin"), Path.Combine(folder, "cifar-100-binary") })
        {
            if (!Directory.Exists(dir)) continue;
            bool c10 = File.Exists(Path.Combine(dir, "test_batch.bin")) || Directory.EnumerateFiles(dir, "data_batch_*.bin").Any();
            bool c100 = File.Exists(Path.Combine(dir, "train.bin")) || File.Exists(Path.Combine(dir, "test.bin"));
            if (c10 && c100) throw new InvalidDataException($"'{dir}' holds both CIFAR-10 and CIFAR-100 files; keep one dataset per folder.");
            if (c10) return (dir, CifarVariant.Cifar10);
            if (c100) return (dir, CifarVariant.Cifar100);
        }
        return null;
    }

    // The archives ship the names as text files, one per line.
    private static IReadOnlyList<string>? ReadClassNames(string dir, CifarVariant variant, CifarLabelKind labels)
    {
        string file = variant == CifarVariant.Cifar10 ? "batches.meta.txt" : labels == CifarLabelKind.Fine ? "fine_label_names.txt" : "coarse_label_names.txt";
        string path = Path.Combine(dir, file);
        if (!File.Exists(path)) return null;
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        int expected = variant == CifarVariant.Cifar10 ? 10 : labels == CifarLabelKind.Fine ? 100 : 20;
        if (names.Length != expected)
            throw new InvalidDataException($"'{path}' lists {names.Length} class names; expected {expected}.");
        return names;
    }
}
