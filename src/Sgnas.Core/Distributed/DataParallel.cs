using Sgnas.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Distributed;

/// <summary>
/// The data-parallel side of one training run, the hook the trainers call (docs/distributed.md §2): which rows of
/// each global batch this rank trains on, the gradient all-reduce before each optimizer step, whether batch norm is
/// synchronised, and whether this rank writes checkpoints. Alone (no MPI launch) every member is the identity and
/// the trainers behave exactly as before.
/// </summary>
public sealed class DataParallel
{
    /// <summary>Environment variable switching synchronised batch norm on (<c>1</c>); per-rank statistics otherwise.</summary>
    public const string SyncBatchNormVariable = "SGNAS_SYNC_BN";

    /// <summary>Environment variable giving the CPU threads of each rank (default: cores / ranks on the machine, at least 1).</summary>
    public const string ThreadsVariable = "SGNAS_THREADS_PER_RANK";

    private static bool? s_syncDefault;
    private readonly GradientAllReduce? _reducer;

    private DataParallel(ICommunicator comm, GradientAllReduce? reducer, bool syncBatchNorm)
    {
        Communicator = comm;
        _reducer = reducer;
        SyncBatchNormEnabled = syncBatchNorm && comm.Size > 1;
    }

    /// <summary>
    /// Synchronised batch norm for runs in this process: null (default) reads <see cref="SyncBatchNormVariable"/>.
    /// </summary>
    public static bool? SyncBatchNormDefault { get => s_syncDefault; set => s_syncDefault = value; }

    /// <summary>The hook for training <paramref name="parameters"/> in this job (<see cref="Cluster.World"/>).</summary>
    public static DataParallel For(IEnumerable<TorchSharp.Modules.Parameter> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        var comm = Cluster.World;
        if (comm.Size == 1) return new DataParallel(comm, null, false);
        ConfigureThreads(comm);
        bool sync = s_syncDefault ?? Environment.GetEnvironmentVariable(SyncBatchNormVariable) is "1" or "true" or "on";
        return new DataParallel(comm, new GradientAllReduce(parameters.Where(p => p.requires_grad), comm), sync);
    }

    /// <summary>The job's communicator.</summary>
    public ICommunicator Communicator { get; }

    /// <summary>This rank.</summary>
    public int Rank => Communicator.Rank;

    /// <summary>Ranks in the job.</summary>
    public int Size => Communicator.Size;

    /// <summary>True on the rank that writes checkpoints and reports (rank 0).</summary>
    public bool IsWriter => Communicator.Rank == 0;

    /// <summary>True when training-mode batch norms use the statistics of the global batch.</summary>
    public bool SyncBatchNormEnabled { get; }

    /// <summary>The gradient reducer (null when alone), for timing reports.</summary>
    public GradientAllReduce? Reducer => _reducer;

    /// <summary>This rank's rows of a global batch of <paramref name="batch"/> images.</summary>
    /// <exception cref="ArgumentException">Synchronised BN with a batch that does not split evenly (docs/distributed.md §3).</exception>
    public BatchShard ShardOf(int batch)
    {
        var shard = BatchShard.Of(batch, Rank, Size);
        if (SyncBatchNormEnabled && batch % Size != 0)
            throw new ArgumentException(
                $"synchronised batch norm needs a global batch divisible by the {Size} ranks; got {batch}. Choose a batch size that is a multiple of {Size}.");
        return shard;
    }

    /// <summary>This rank's rows of <paramref name="batch"/> (views; the batch keeps ownership), and their gradient weight.</summary>
    public (Tensor Images, Tensor Labels, double Weight) Shard(ImageBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (Size == 1) return (batch.Images, batch.Labels, 1.0);
        var s = ShardOf(batch.Count);
        return (batch.Images.narrow(0, s.Start, s.Count), batch.Labels.narrow(0, s.Start, s.Count), s.Weight);
    }

    /// <summary>Sums weighted gradients over the ranks (no-op alone). Call after backward, before the optimizer step.</summary>
    public void ReduceGradients(double weight) => _reducer?.Reduce(weight);

    /// <summary>Opens a synchronised-BN scope for one training step when enabled; otherwise a no-op scope.</summary>
    public IDisposable StepScope() => SyncBatchNormEnabled ? SyncBatchNorm.Enter(Communicator) : NoScope.Instance;

    /// <summary>Sums <paramref name="values"/> over the ranks in place (no-op alone).</summary>
    public void Sum(Span<double> values)
    {
        if (Size > 1) Communicator.AllReduceSum(values);
    }

    /// <summary>Waits for every rank (no-op alone).</summary>
    public void Barrier()
    {
        if (Size > 1) Communicator.Barrier();
    }

    /// <summary>
    /// Under MPI on the CPU, each rank gets <see cref="ThreadsVariable"/> threads, or cores / local ranks (at least 1)
    /// when it currently has more, so N ranks on a machine do not oversubscribe its cores.
    /// </summary>
    private static void ConfigureThreads(ICommunicator comm)
    {
        Runtime.TorchNative.EnsureLoaded();
        if (Environment.GetEnvironmentVariable(ThreadsVariable) is { } text && int.TryParse(text, out int n) && n > 0)
        {
            torch.set_num_threads(n);
            return;
        }
        int fair = Math.Max(1, Environment.ProcessorCount / Math.Max(1, comm.LocalSize));
        if (torch.get_num_threads() > fair) torch.set_num_threads(fair);
    }

    private sealed class NoScope : IDisposable
    {
        public static readonly NoScope Instance = new();
        public void Dispose() { }
    }
}
