namespace Sgnas.Distributed;

/// <summary>
/// Groups consecutive gradient tensors into buckets of at most <c>capacity</c> elements, so a step's all-reduce costs
/// a few large calls rather than one per parameter (each MPI call pays a latency of microseconds on shared memory and
/// tens of microseconds across machines). Order is kept, so every rank builds the same buckets from the same
/// parameter list. A tensor larger than the capacity gets a bucket of its own (docs/distributed.md §2).
/// </summary>
public static class GradientBuckets
{
    /// <summary>Default bucket size in bytes (25 MB, PyTorch DistributedDataParallel's default).</summary>
    public const long DefaultBytes = 25L * 1024 * 1024;

    /// <summary>The buckets for tensors of <paramref name="elementCounts"/> elements: (first index, number of tensors, elements).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative or the capacity is not positive.</exception>
    public static IReadOnlyList<(int First, int Count, long Elements)> Plan(IReadOnlyList<long> elementCounts, long capacity)
    {
        ArgumentNullException.ThrowIfNull(elementCounts);
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), capacity, "bucket capacity must be positive.");
        var buckets = new List<(int, int, long)>();
        int first = 0;
        long size = 0;
        for (int i = 0; i < elementCounts.Count; i++)
        {
            long n = elementCounts[i];
            if (n < 0) throw new ArgumentOutOfRangeException(nameof(elementCounts), n, $"tensor {i} has a negative element count.");
            if (i > first && size + n > capacity)
            {
                buckets.Add((first, i - first, size));
                first = i;
                size = 0;
            }
            size += n;
        }
        if (elementCounts.Count > first) buckets.Add((first, elementCounts.Count - first, size));
        return buckets;
    }
}
