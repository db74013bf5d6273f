using static TorchSharp.torch;

namespace Sgnas.Data;

/// <summary>
/// Cuts an <see cref="ImageDataset"/> (or a subset of its indices) into mini-batches of normalized tensors,
/// reshuffled every epoch. Order and augmentation depend only on (seed, epoch), so an epoch can be replayed or
/// resumed without replaying the ones before it.
/// </summary>
public sealed class MiniBatchIterator
{
    private readonly ImageDataset _data;
    private readonly int[] _indices;
    private readonly ChannelNormalization _normalization;
    private readonly int _seed;
    private readonly bool _shuffle;
    private readonly bool _dropLast;
    private readonly BatchAugmentation? _augmentation;
    private readonly Device? _device;

    /// <summary>Creates an iterator.</summary>
    /// <param name="data">Images to draw from.</param>
    /// <param name="batchSize">Images per batch.</param>
    /// <param name="normalization">Per-channel mean and std applied after scaling to [0, 1].</param>
    /// <param name="seed">Seed of the shuffle and of the augmentation.</param>
    /// <param name="indices">Positions in <paramref name="data"/> to use (e.g. from <see cref="DataSplit"/>); null uses all.</param>
    /// <param name="shuffle">Shuffle every epoch; false keeps <paramref name="indices"/> order (for evaluation).</param>
    /// <param name="dropLast">Drop the last batch when it is smaller than <paramref name="batchSize"/>.</param>
    /// <param name="augmentation">Applied to each batch in [0, 1] before normalization, e.g. <see cref="BatchAugmentations.CropAndFlip"/>.</param>
    /// <param name="device">Device of the tensors; CPU when null.</param>
    public MiniBatchIterator(ImageDataset data, int batchSize, ChannelNormalization normalization, int seed,
        int[]? indices = null, bool shuffle = true, bool dropLast = false, BatchAugmentation? augmentation = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(normalization);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive.");
        if (normalization.Channels != data.Channels)
            throw new ArgumentException($"normalization has {normalization.Channels} channels; the images have {data.Channels}.", nameof(normalization));
        if (indices != null)
            foreach (int i in indices)
                if ((uint)i >= (uint)data.Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"index outside the {data.Count} images.");
        _indices = indices?.ToArray() ?? Enumerable.Range(0, data.Count).ToArray();
        if (_indices.Length == 0) throw new ArgumentException("no images to iterate over.", nameof(indices));
        if (dropLast && _indices.Length < batchSize)
            throw new ArgumentException($"dropLast with {_indices.Length} images and batch size {batchSize} yields no batch.", nameof(dropLast));
        _data = data;
        BatchSize = batchSize;
        _normalization = normalization;
        _seed = seed;
        _shuffle = shuffle;
        _dropLast = dropLast;
        _augmentation = augmentation;
        _device = device;
    }

    /// <summary>Images per batch (the last batch may be smaller unless dropLast).</summary>
    public int BatchSize { get; }

    /// <summary>Number of images one epoch covers (before dropping the last batch).</summary>
    public int Count => _indices.Length;

    /// <summary>Batches per epoch.</summary>
    public int BatchesPerEpoch => _dropLast ? Count / BatchSize : (Count + BatchSize - 1) / BatchSize;

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>. Each batch owns its tensors: dispose it after the step.
    /// </summary>
    public IEnumerable<ImageBatch> Epoch(int epoch)
    {
        // Separate streams so that switching augmentation on does not change the order.
        var order = _indices.ToArray();
        if (_shuffle)
        {
            var orderRandom = new Random(SeedMix.Mix(_seed, epoch, 1));
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = orderRandom.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
        }
        return Batches(order, new Random(SeedMix.Mix(_seed, epoch, 2)));
    }

    private IEnumerable<ImageBatch> Batches(int[] order, Random augmentRandom)
    {
        for (int b = 0; b < BatchesPerEpoch; b++)
        {
            int start = b * BatchSize, n = Math.Min(BatchSize, order.Length - start);
            yield return _data.MakeBatch(order.AsSpan(start, n), _normalization, _device, _augmentation, augmentRandom);
        }
    }
}
