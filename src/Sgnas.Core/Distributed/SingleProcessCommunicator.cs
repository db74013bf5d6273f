namespace Sgnas.Distributed;

/// <summary>The communicator of a process that runs alone: every collective is the identity; no MPI library is loaded.</summary>
public sealed class SingleProcessCommunicator : ICommunicator
{
    /// <summary>The one instance.</summary>
    public static readonly SingleProcessCommunicator Instance = new();

    private SingleProcessCommunicator() { }

    /// <inheritdoc />
    public int Rank => 0;
    /// <inheritdoc />
    public int Size => 1;
    /// <inheritdoc />
    public int LocalRank => 0;
    /// <inheritdoc />
    public int LocalSize => 1;
    /// <inheritdoc />
    public void AllReduceSum(Span<float> buffer) { }
    /// <inheritdoc />
    public void AllReduceSum(Span<double> buffer) { }
    /// <inheritdoc />
    public void AllReduceSum(Span<long> buffer) { }
    /// <inheritdoc />
    public void AllReduceSumFloat(IntPtr buffer, int count) { }
    /// <inheritdoc />
    public byte[][] AllGather(ReadOnlySpan<byte> local) => [local.ToArray()];
    /// <inheritdoc />
    public byte[] Broadcast(byte[]? data, int root = 0) =>
        root == 0 ? data ?? throw new ArgumentNullException(nameof(data)) : throw new ArgumentOutOfRangeException(nameof(root), root, "a single process has only rank 0.");
    /// <inheritdoc />
    public void Barrier() { }
    /// <inheritdoc />
    public void Abort(int code) => Environment.Exit(code);
    /// <inheritdoc />
    public void Dispose() { }
}
