using Sgnas.Data;
using static TorchSharp.torch;

namespace Sgnas.Search;

/// <summary>
/// Labelled mini-batches for UNAS's loss evaluations: training-split batches (for the generalisation loss, UNAS
/// Eq. 8) and validation-split batches, on the supernet's device.
/// </summary>
public sealed class UnasData : IDisposable
{
    /// <summary>Training-split batches.</summary>
    public IReadOnlyList<(Tensor Images, Tensor Labels)> Train { get; }
    /// <summary>Validation-split batches.</summary>
    public IReadOnlyList<(Tensor Images, Tensor Labels)> Validation { get; }

    /// <summary>Wraps existing batches (taken over: disposed with this object).</summary>
    public UnasData(IReadOnlyList<(Tensor Images, Tensor Labels)> train, IReadOnlyList<(Tensor Images, Tensor Labels)> validation)
    {
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(validation);
        if (train.Count == 0 || validation.Count == 0) throw new ArgumentException("UNAS needs at least one training and one validation batch.");
        Train = train; Validation = validation;
    }

    /// <summary>
    /// Draws up to <paramref name="maxImages"/> images from each index list (seeded shuffle) and cuts them into
    /// batches of <paramref name="batchSize"/>.
    /// </summary>
    public static UnasData Create(ImageDataset data, TrainValidationIndices indices, ChannelNormalization normalization,
        int batchSize, int maxImages, int seed, Device device)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Train.Length == 0 || indices.Validation.Length == 0)
            throw new ArgumentException("UNAS needs training and validation images; the split has an empty part.");
        var rng = new Random(seed);
        List<(Tensor, Tensor)> Batches(int[] pool)
        {
            var order = pool.ToArray();
            rng.Shuffle(order);
            order = order.Take(Math.Min(maxImages, order.Length)).ToArray();
            var list = new List<(Tensor, Tensor)>();
            for (int s = 0; s < order.Length; s += batchSize)
            {
                using var b = data.ToBatch(order.AsSpan(s, Math.Min(batchSize, order.Length - s)), normalization, device);
                list.Add((b.Images.detach().clone(), b.Labels.detach().clone()));
            }
            return list;
        }
        return new UnasData(Batches(indices.Train), Batches(indices.Validation));
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (x, y) in Train.Concat(Validation)) { x.Dispose(); y.Dispose(); }
    }
}
