namespace Sgnas.Data;

/// <summary>Indices of a train/validation split, each ascending.</summary>
/// <param name="Train">Indices kept for training.</param>
/// <param name="Validation">Indices held out for validation.</param>
public sealed record TrainValidationIndices(int[] Train, int[] Validation);

/// <summary>
/// Deterministic splits of a dataset's indices. Results depend only on the arguments (System.Random with a seed
/// is stable across .NET versions), so a seed names a split.
/// </summary>
public static class DataSplit
{
    /// <summary>
    /// Holds out round(count × <paramref name="validationFraction"/>) indices; with <paramref name="stratifyLabels"/>
    /// the fraction is taken within each class (rounded per class), so class proportions are kept.
    /// </summary>
    /// <param name="count">Number of items.</param>
    /// <param name="validationFraction">Share held out, in (0, 1).</param>
    /// <param name="seed">Seed of the shuffle.</param>
    /// <param name="stratifyLabels">Label per item (length <paramref name="count"/>), or null for no stratification.</param>
    /// <exception cref="ArgumentException">Fraction outside (0, 1), or either part would be empty.</exception>
    public static TrainValidationIndices TrainValidation(int count, double validationFraction, int seed, IReadOnlyList<int>? stratifyLabels = null)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "validation fraction must lie in (0, 1).");
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "count must be ≥ 0.");
        if (stratifyLabels != null && stratifyLabels.Count != count)
            throw new ArgumentException($"{stratifyLabels.Count} labels given for {count} items.", nameof(stratifyLabels));

        var random = new Random(seed);
        var validation = new List<int>();
        if (stratifyLabels == null)
        {
            var order = Permutation(count, random);
            validation.AddRange(order.Take((int)Math.Round(count * validationFraction)));
        }
        else
        {
            foreach (var group in Enumerable.Range(0, count).GroupBy(i => stratifyLabels[i]).OrderBy(g => g.Key))
            {
                var members = group.ToArray();
                Shuffle(members, random);
                validation.AddRange(members.Take((int)Math.Round(members.Length * validationFraction)));
            }
        }
        return Build(count, validation, $"fraction {validationFraction} of {count} items");
    }

    /// <summary>Stratified split of <paramref name="data"/> by its labels (or unstratified).</summary>
    public static TrainValidationIndices TrainValidation(ImageDataset data, double validationFraction, int seed, bool stratified = true)
    {
        ArgumentNullException.ThrowIfNull(data);
        return TrainValidation(data.Count, validationFraction, seed, stratified ? data.Labels : null);
    }

    /// <summary>
    /// Holds out <paramref name="perClass"/> items of every class (the SGNAS ImageNet recipe holds out 50 per class
    /// for training the generator, docs/design.md §5).
    /// </summary>
    /// <exception cref="ArgumentException">A class has no more than <paramref name="perClass"/> items, or perClass ≤ 0.</exception>
    public static TrainValidationIndices HoldOutPerClass(IReadOnlyList<int> labels, int perClass, int seed)
    {
        ArgumentNullException.ThrowIfNull(labels);
        if (perClass <= 0) throw new ArgumentOutOfRangeException(nameof(perClass), perClass, "perClass must be positive.");
        var random = new Random(seed);
        var validation = new List<int>();
        foreach (var group in Enumerable.Range(0, labels.Count).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            if (members.Length <= perClass)
                throw new ArgumentException($"class {group.Key} has {members.Length} items; holding out {perClass} would leave none for training.", nameof(perClass));
            Shuffle(members, random);
            validation.AddRange(members.Take(perClass));
        }
        return Build(labels.Count, validation, $"{perClass} per class of {labels.Count} items");
    }

    /// <summary>A uniformly random permutation of 0..count−1 (Fisher–Yates).</summary>
    public static int[] Permutation(int count, Random random)
    {
        var p = Enumerable.Range(0, count).ToArray();
        Shuffle(p, random);
        return p;
    }

    private static void Shuffle(int[] a, Random random)
    {
        for (int i = a.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (a[i], a[j]) = (a[j], a[i]);
        }
    }

    private static TrainValidationIndices Build(int count, List<int> validation, string what)
    {
        var held = new bool[count];
        foreach (int i in validation) held[i] = true;
        var val = Enumerable.Range(0, count).Where(i => held[i]).ToArray();
        var train = Enumerable.Range(0, count).Where(i => !held[i]).ToArray();
        if (val.Length == 0) throw new ArgumentException($"validation part is empty ({what}); raise the fraction or add data.");
        if (train.Length == 0) throw new ArgumentException($"training part is empty ({what}); lower the fraction or add data.");
        return new TrainValidationIndices(train, val);
    }

    /// <summary>
    /// Share of a dataset held out as its test set when the data have no separate test set (a single IDX images file,
    /// an image folder without a <c>test/</c> or <c>val/</c> sub-folder): test images are then never training images.
    /// </summary>
    public const double HeldOutTestFraction = 0.2;

    /// <summary>Seed of that hold-out (fixed, so every command and run holds out the same images).</summary>
    public const int HeldOutTestSeed = 13013;

    /// <summary>
    /// The part of a dataset without its own test set that serves as <paramref name="split"/>: a stratified, seeded
    /// <see cref="HeldOutTestFraction"/> of the images is the test part; the rest is the training part.
    /// </summary>
    /// <exception cref="ArgumentException">Too few images for both parts to be non-empty.</exception>
    public static int[] HeldOutSplit(IReadOnlyList<int> labels, DatasetSplit split)
    {
        ArgumentNullException.ThrowIfNull(labels);
        TrainValidationIndices s;
        // Stratified when every part is non-empty; classes too small to give a test image fall back to a plain shuffle.
        try { s = TrainValidation(labels.Count, HeldOutTestFraction, HeldOutTestSeed, labels); }
        catch (ArgumentException) { s = TrainValidation(labels.Count, HeldOutTestFraction, HeldOutTestSeed); }
        return split == DatasetSplit.Test ? s.Validation : s.Train;
    }

    /// <summary>
    /// Hold-out membership of a file from a hash of its relative path (FNV-1a 64 then a SplitMix64 finish): stable when
    /// files are added or removed and independent of enumeration order. True for about <paramref name="fraction"/> of keys.
    /// </summary>
    public static bool IsHeldOut(string key, int seed, double fraction)
    {
        ulong h = 0xCBF29CE484222325UL;
        for (int i = 0; i < 4; i++) h = (h ^ (byte)(seed >> (8 * i))) * 0x100000001B3UL;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(key)) h = (h ^ b) * 0x100000001B3UL;
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
        h ^= h >> 31;
        return (h >> 11) * (1.0 / (1UL << 53)) < fraction;
    }
}
