namespace Sgnas.Distributed;

/// <summary>
/// Which rows of a global mini-batch a rank trains on, and the weight of its gradient (docs/distributed.md §2).
/// Rank r of N takes a contiguous block; the first <c>B mod N</c> ranks take one row more. Each rank's loss is a mean
/// over its rows, so the gradient of the global mean loss is Σ_r (n_r / B)·∇L_r: every rank scales its gradient by
/// <see cref="Weight"/> and the ranks sum. With equal shards that is the plain average.
/// </summary>
/// <param name="Start">First row of the global batch.</param>
/// <param name="Count">Rows on this rank (n_r).</param>
/// <param name="Weight">n_r / B.</param>
public readonly record struct BatchShard(int Start, int Count, double Weight)
{
    /// <summary>The shard of rank <paramref name="rank"/> of <paramref name="size"/> in a batch of <paramref name="batch"/> rows.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Rank outside 0..size−1, or fewer rows than ranks.</exception>
    public static BatchShard Of(int batch, int rank, int size)
    {
        if (size < 1) throw new ArgumentOutOfRangeException(nameof(size), size, "at least one rank.");
        if (rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"ranks are 0..{size - 1}.");
        if (batch < size)
            throw new ArgumentOutOfRangeException(nameof(batch), batch,
                $"a global batch of {batch} images cannot be split over {size} ranks; use a batch size of at least {size} (ideally a multiple).");
        int q = batch / size, extra = batch % size;
        int start = rank * q + Math.Min(rank, extra), count = q + (rank < extra ? 1 : 0);
        return new BatchShard(start, count, (double)count / batch);
    }

    /// <summary>The items of <paramref name="total"/> that rank <paramref name="rank"/> of <paramref name="size"/> evaluates: every size-th from rank (round robin, so neighbouring candidates of similar cost spread over ranks).</summary>
    public static IEnumerable<int> RoundRobin(int total, int rank, int size)
    {
        if (size < 1 || rank < 0 || rank >= size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"ranks are 0..{size - 1}.");
        for (int i = rank; i < total; i += size) yield return i;
    }
}
