using System.Runtime.InteropServices;

namespace Sgnas.Distributed;

/// <summary>
/// <see cref="ICommunicator"/> over <c>MPI_COMM_WORLD</c> of Open MPI (binding in <see cref="MpiNative"/>).
/// Initialises MPI with <c>MPI_THREAD_SERIALIZED</c> or better (backward passes may run the synchronised-BN
/// all-reduce on a libtorch worker thread, never two calls at once); <see cref="Dispose"/> finalises it.
/// </summary>
public sealed unsafe class MpiCommunicator : ICommunicator
{
    private bool _finalized;
    private readonly object _gate = new();

    private MpiCommunicator(int rank, int size, int localRank, int localSize, int threadLevel)
    {
        Rank = rank; Size = size; LocalRank = localRank; LocalSize = localSize; ThreadLevel = threadLevel;
    }

    /// <inheritdoc />
    public int Rank { get; }
    /// <inheritdoc />
    public int Size { get; }
    /// <inheritdoc />
    public int LocalRank { get; }
    /// <inheritdoc />
    public int LocalSize { get; }

    /// <summary>The thread support level MPI granted (0 single … 3 multiple).</summary>
    public int ThreadLevel { get; }

    /// <summary>Loads Open MPI and initialises it for <paramref name="launch"/>.</summary>
    /// <exception cref="DllNotFoundException">No Open MPI library is installed.</exception>
    /// <exception cref="InvalidOperationException">MPI's view of rank or size disagrees with the launch variables.</exception>
    public static MpiCommunicator Initialize(MpiLaunch launch)
    {
        ArgumentNullException.ThrowIfNull(launch);
        MpiNative.Load();
        int initialized = 0, provided = 0;
        MpiNative.Check(MpiNative.Initialized(&initialized), "MPI_Initialized");
        if (initialized == 0)
            MpiNative.Check(MpiNative.InitThread(null, IntPtr.Zero, MpiNative.ThreadMultiple, &provided), "MPI_Init_thread");
        else provided = MpiNative.ThreadMultiple;
        if (provided < MpiNative.ThreadSerialized)
            throw new InvalidOperationException($"MPI granted thread level {provided}; at least MPI_THREAD_SERIALIZED (2) is needed.");
        int rank, size;
        MpiNative.Check(MpiNative.CommRank(MpiNative.CommWorld, &rank), "MPI_Comm_rank");
        MpiNative.Check(MpiNative.CommSize(MpiNative.CommWorld, &size), "MPI_Comm_size");
        if (rank != launch.Rank || size != launch.Size)
            throw new InvalidOperationException(
                $"MPI reports rank {rank} of {size}, the launcher's variables ({launch.Source}) rank {launch.Rank} of {launch.Size}.");
        return new MpiCommunicator(rank, size, launch.LocalRank, launch.LocalSize, provided);
    }

    /// <inheritdoc />
    public void AllReduceSum(Span<float> buffer)
    {
        fixed (float* p = buffer) Reduce((IntPtr)p, buffer.Length, MpiNative.Float, "float");
    }

    /// <inheritdoc />
    public void AllReduceSum(Span<double> buffer)
    {
        fixed (double* p = buffer) Reduce((IntPtr)p, buffer.Length, MpiNative.Double, "double");
    }

    /// <inheritdoc />
    public void AllReduceSum(Span<long> buffer)
    {
        fixed (long* p = buffer) Reduce((IntPtr)p, buffer.Length, MpiNative.LongLong, "long");
    }

    /// <inheritdoc />
    public void AllReduceSumFloat(IntPtr buffer, int count) => Reduce(buffer, count, MpiNative.Float, "float");

    private void Reduce(IntPtr buffer, int count, IntPtr type, string what)
    {
        if (count == 0) return;
        lock (_gate) MpiNative.Check(MpiNative.Allreduce(MpiNative.InPlace, buffer, count, type, MpiNative.OpSum, MpiNative.CommWorld), $"MPI_Allreduce({count} {what})");
    }

    /// <inheritdoc />
    public byte[][] AllGather(ReadOnlySpan<byte> local)
    {
        var counts = new int[Size];
        int mine = local.Length;
        lock (_gate)
        {
            fixed (int* c = counts)
                MpiNative.Check(MpiNative.Allgather((IntPtr)(&mine), 1, MpiNative.Int, (IntPtr)c, 1, MpiNative.Int, MpiNative.CommWorld), "MPI_Allgather");
            var displs = new int[Size];
            long total = 0;
            for (int r = 0; r < Size; r++) { displs[r] = checked((int)total); total += counts[r]; }
            var all = new byte[checked((int)total)];
            fixed (byte* s = local)
            fixed (byte* a = all)
            fixed (int* c = counts)
            fixed (int* d = displs)
                MpiNative.Check(MpiNative.Allgatherv((IntPtr)s, mine, MpiNative.Byte, (IntPtr)a, c, d, MpiNative.Byte, MpiNative.CommWorld), "MPI_Allgatherv");
            var result = new byte[Size][];
            for (int r = 0; r < Size; r++) result[r] = all.AsSpan(displs[r], counts[r]).ToArray();
            return result;
        }
    }

    /// <inheritdoc />
    public byte[] Broadcast(byte[]? data, int root = 0)
    {
        if (root < 0 || root >= Size) throw new ArgumentOutOfRangeException(nameof(root), root, $"ranks are 0..{Size - 1}.");
        if (Rank == root) ArgumentNullException.ThrowIfNull(data);
        lock (_gate)
        {
            int length = Rank == root ? data!.Length : 0;
            MpiNative.Check(MpiNative.Bcast((IntPtr)(&length), 1, MpiNative.Int, root, MpiNative.CommWorld), "MPI_Bcast(length)");
            var buffer = Rank == root ? data! : new byte[length];
            fixed (byte* b = buffer)
                MpiNative.Check(MpiNative.Bcast((IntPtr)b, length, MpiNative.Byte, root, MpiNative.CommWorld), "MPI_Bcast");
            return buffer;
        }
    }

    /// <inheritdoc />
    public void Barrier()
    {
        lock (_gate) MpiNative.Check(MpiNative.Barrier(MpiNative.CommWorld), "MPI_Barrier");
    }

    /// <inheritdoc />
    public void Abort(int code)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        MpiNative.AbortMpi(MpiNative.CommWorld, code == 0 ? 1 : code);
        Environment.Exit(code == 0 ? 1 : code); // not reached: MPI_Abort ends the process
    }

    /// <summary>Finalises MPI (collective: every rank must reach it).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_finalized) return;
            _finalized = true;
            int done = 0;
            MpiNative.Finalized(&done);
            if (done == 0) MpiNative.FinalizeMpi();
        }
    }
}
