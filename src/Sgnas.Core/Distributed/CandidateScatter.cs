using System.Runtime.InteropServices;

namespace Sgnas.Distributed;

/// <summary>
/// Spreads independent evaluations over the ranks and gathers their results in input order, so every rank ends with
/// the list a single process would compute (docs/distributed.md §5). Rank r evaluates items r, r+N, r+2N, …
/// (round robin); one all-gather returns everything. Each result is a fixed-length vector of doubles.
/// </summary>
public static class CandidateScatter
{
    /// <summary>
    /// <paramref name="evaluate"/> of every item, in order, each computed on one rank of <paramref name="comm"/>.
    /// </summary>
    /// <param name="count">Number of items.</param>
    /// <param name="width">Doubles per result.</param>
    /// <param name="evaluate">Evaluates item i (called only for this rank's items).</param>
    /// <param name="comm">The job.</param>
    public static double[][] Map(int count, int width, Func<int, double[]> evaluate, ICommunicator comm)
    {
        ArgumentNullException.ThrowIfNull(evaluate);
        ArgumentNullException.ThrowIfNull(comm);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), count, "must be ≥ 0.");
        if (width <= 0) throw new ArgumentOutOfRangeException(nameof(width), width, "must be positive.");
        var results = new double[count][];
        var mine = new List<double>();
        foreach (int i in BatchShard.RoundRobin(count, comm.Rank, comm.Size))
        {
            var r = evaluate(i);
            if (r.Length != width) throw new InvalidOperationException($"item {i}: {r.Length} values, expected {width}.");
            results[i] = r;
            mine.AddRange(r);
        }
        if (comm.Size == 1) return results;
        var gathered = comm.AllGather(MemoryMarshal.AsBytes(CollectionsMarshal.AsSpan(mine)));
        for (int rank = 0; rank < comm.Size; rank++)
        {
            var values = MemoryMarshal.Cast<byte, double>(gathered[rank]);
            int k = 0;
            foreach (int i in BatchShard.RoundRobin(count, rank, comm.Size))
            {
                results[i] = values.Slice(k * width, width).ToArray();
                k++;
            }
            if (k * width != values.Length)
                throw new InvalidOperationException($"rank {rank} returned {values.Length} values for {k} items of width {width}.");
        }
        return results;
    }
}
