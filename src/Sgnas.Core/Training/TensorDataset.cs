using static TorchSharp.torch;

namespace Sgnas.Training;

/// <summary>
/// An in-memory labelled image set as tensors: <see cref="Images"/> [N, C, H, W] float32 already normalised,
/// <see cref="Labels"/> [N] int64. The form every trainer consumes; readers and ML.NET adapters produce it.
/// Owns its tensors.
/// </summary>
public sealed class TensorDataset : IDisposable
{
    /// <summary>Images [N, C, H, W], float32, normalised.</summary>
    public Tensor Images { get; }
    /// <summary>Class indices [N], int64.</summary>
    public Tensor Labels { get; }
    /// <summary>Number of classes.</summary>
    public int ClassCount { get; }
    /// <summary>Number of samples.</summary>
    public int Count => (int)Images.shape[0];

    /// <summary>Wraps tensors; validates shapes and label range.</summary>
    public TensorDataset(Tensor images, Tensor labels, int classCount)
    {
        if (images.dim() != 4) throw new ArgumentException($"Images must be [N, C, H, W]; got [{string.Join(", ", images.shape)}].");
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new ArgumentException($"Labels must be [N] with N = {images.shape[0]}; got [{string.Join(", ", labels.shape)}].");
        if (images.shape[0] == 0) throw new ArgumentException("The data set is empty.");
        if (classCount < 2) throw new ArgumentException($"Need at least 2 classes; got {classCount}.");
        Images = images.dtype == ScalarType.Float32 ? images : images.to_type(ScalarType.Float32);
        Labels = labels.dtype == ScalarType.Int64 ? labels : labels.to_type(ScalarType.Int64);
        long min = Labels.min().item<long>(), max = Labels.max().item<long>();
        if (min < 0 || max >= classCount) throw new ArgumentException($"Labels must lie in 0..{classCount - 1}; found {min}..{max}.");
        ClassCount = classCount;
    }

    /// <summary>The subset at <paramref name="indices"/> (copies).</summary>
    public TensorDataset Subset(long[] indices)
    {
        using var idx = tensor(indices, ScalarType.Int64);
        return new TensorDataset(Images.index_select(0, idx), Labels.index_select(0, idx), ClassCount);
    }

    /// <summary>
    /// Deterministic split into train and validation parts (the validation split is held out of the training set
    /// as in the paper: ImageNet 50 images per class). Stratified: each class contributes the same fraction.
    /// </summary>
    public (TensorDataset Train, TensorDataset Validation) Split(double validationFraction, int seed)
    {
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "Validation fraction must be in (0, 1).");
        var labels = Labels.data<long>().ToArray();
        var rng = new Random(seed);
        var train = new List<long>(); var val = new List<long>();
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.Select(i => (long)i).ToArray();
            rng.Shuffle(members);
            int nVal = (int)Math.Round(members.Length * validationFraction);
            val.AddRange(members.Take(nVal)); train.AddRange(members.Skip(nVal));
        }
        if (train.Count == 0 || val.Count == 0)
            throw new ArgumentException($"Splitting {Count} samples with validation fraction {validationFraction} leaves an empty part.");
        train.Sort(); val.Sort();
        return (Subset(train.ToArray()), Subset(val.ToArray()));
    }

    /// <summary>
    /// Mini-batches in a seeded random order (or in order when <paramref name="shuffle"/> is false). The batch
    /// tensors are created in the caller's dispose scope and moved to <paramref name="device"/>.
    /// </summary>
    public IEnumerable<(Tensor X, Tensor Y)> Batches(int batchSize, bool shuffle, Random rng, Device device, bool dropLast = false)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), "Batch size must be positive.");
        long[] order = Enumerable.Range(0, Count).Select(i => (long)i).ToArray();
        if (shuffle) rng.Shuffle(order);
        for (int start = 0; start < order.Length; start += batchSize)
        {
            int n = Math.Min(batchSize, order.Length - start);
            if (dropLast && n < batchSize) yield break;
            using var idx = tensor(order.AsSpan(start, n).ToArray(), ScalarType.Int64);
            yield return (Images.index_select(0, idx).to(device), Labels.index_select(0, idx).to(device));
        }
    }

    /// <summary>Number of batches per epoch.</summary>
    public int BatchCount(int batchSize, bool dropLast = false) =>
        dropLast ? Count / batchSize : (Count + batchSize - 1) / batchSize;

    /// <inheritdoc />
    public void Dispose() { Images.Dispose(); Labels.Dispose(); }
}
