namespace Sgnas.Distributed;

/// <summary>
/// The collective operations data-parallel training and parallel search need, over the processes of one job.
/// Every rank must call the same collectives in the same order with the same counts (MPI semantics); a rank that
/// fails must <see cref="Abort"/> the job rather than leave the others waiting.
/// </summary>
public interface ICommunicator : IDisposable
{
    /// <summary>This process's rank, 0..<see cref="Size"/>−1.</summary>
    int Rank { get; }

    /// <summary>Processes in the job.</summary>
    int Size { get; }

    /// <summary>Rank among the processes on this machine.</summary>
    int LocalRank { get; }

    /// <summary>Processes on this machine.</summary>
    int LocalSize { get; }

    /// <summary>Replaces every element of <paramref name="buffer"/> by its sum over all ranks.</summary>
    void AllReduceSum(Span<float> buffer);

    /// <summary>Replaces every element of <paramref name="buffer"/> by its sum over all ranks.</summary>
    void AllReduceSum(Span<double> buffer);

    /// <summary>Replaces every element of <paramref name="buffer"/> by its sum over all ranks.</summary>
    void AllReduceSum(Span<long> buffer);

    /// <summary>
    /// Sums <paramref name="count"/> float32 values at <paramref name="buffer"/> over all ranks in place. The memory
    /// must stay pinned for the call; with a CUDA-aware MPI it may be device memory (docs/distributed.md §4).
    /// </summary>
    void AllReduceSumFloat(IntPtr buffer, int count);

    /// <summary>Every rank's <paramref name="local"/> bytes (lengths may differ), indexed by rank.</summary>
    byte[][] AllGather(ReadOnlySpan<byte> local);

    /// <summary>Rank <paramref name="root"/>'s bytes on every rank (other ranks pass anything; their input is ignored).</summary>
    byte[] Broadcast(byte[]? data, int root = 0);

    /// <summary>Returns once every rank has called it.</summary>
    void Barrier();

    /// <summary>Ends every process of the job with exit code <paramref name="code"/> (does not return).</summary>
    void Abort(int code);
}
