using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Distributed;

/// <summary>
/// Sums the weighted gradients of a module's parameters over all ranks before the optimizer step
/// (data-parallel SGD: docs/distributed.md §2). Gradients are flattened into buckets of
/// <see cref="GradientBuckets.DefaultBytes"/>, copied to host memory when they live on a GPU (the portable path; a
/// CUDA-aware MPI could reduce device memory directly, docs/distributed.md §4), reduced in place and copied back.
/// Parameters without a gradient (not on any path of the step) stay without one; every rank must have the same such
/// set, which holds because all ranks draw the same paths, and which is checked at every step.
/// </summary>
public sealed class GradientAllReduce
{
    private readonly TorchSharp.Modules.Parameter[] _parameters;
    private readonly ICommunicator _comm;
    private readonly long _bucketElements;

    /// <summary>Creates a reducer over <paramref name="parameters"/> (in a fixed order, the same on every rank).</summary>
    public GradientAllReduce(IEnumerable<TorchSharp.Modules.Parameter> parameters, ICommunicator comm, long bucketBytes = GradientBuckets.DefaultBytes)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _comm = comm ?? throw new ArgumentNullException(nameof(comm));
        if (bucketBytes < sizeof(float)) throw new ArgumentOutOfRangeException(nameof(bucketBytes), bucketBytes, "a bucket must hold at least one float.");
        _parameters = parameters.ToArray();
        _bucketElements = bucketBytes / sizeof(float);
    }

    /// <summary>All-reduce calls made so far (buckets, plus one consistency check per step).</summary>
    public long Calls { get; private set; }

    /// <summary>Gradient bytes reduced so far (float32 elements × 4).</summary>
    public long Bytes { get; private set; }

    /// <summary>Wall time spent in <see cref="Reduce"/> so far, copies included.</summary>
    public TimeSpan Elapsed { get; private set; }

    /// <summary>Totals of every reducer in this process: steps, calls, bytes and time (printed at exit with <c>SGNAS_MPI_STATS=1</c>).</summary>
    public static (long Steps, long Calls, long Bytes, TimeSpan Elapsed) ProcessTotals => (s_steps, s_calls, s_bytes, s_elapsed);

    /// <summary>
    /// Of <see cref="ProcessTotals"/>' time, the part spent in the per-step consistency check: as the step's first
    /// collective it absorbs the wait for the slowest rank, so the rest is the bucket reductions and copies themselves.
    /// </summary>
    public static TimeSpan ProcessWait => s_wait;

    private static long s_steps, s_calls, s_bytes;
    private static TimeSpan s_elapsed, s_wait;

    /// <summary>Replaces every gradient g by Σ_ranks weight·g.</summary>
    /// <param name="weight">This rank's weight, n_r / B (<see cref="BatchShard.Weight"/>).</param>
    /// <exception cref="InvalidOperationException">The ranks hold gradients for different parameter sets.</exception>
    public void Reduce(double weight)
    {
        var clock = Stopwatch.StartNew();
        long calls = Calls, bytes = Bytes;
        var withGrad = _parameters.Where(p => p.grad is not null).ToArray();
        if (_comm.Size > 1)
        {
            Span<long> check = [withGrad.Length, (long)withGrad.Length * withGrad.Length];
            _comm.AllReduceSum(check);
            Calls++;
            s_wait += clock.Elapsed;
            // Σn and Σn² over ranks: all equal exactly when Σn² · size = (Σn)².
            if (check[1] * _comm.Size != check[0] * check[0])
                throw new InvalidOperationException(
                    $"rank {_comm.Rank} has gradients for {withGrad.Length} parameters, other ranks a different count: the ranks trained different paths " +
                    "(seeds or sampler state differ between ranks).");
        }
        using (NewDisposeScope())
        using (no_grad())
        {
            var plan = GradientBuckets.Plan(withGrad.Select(p => p.numel()).ToArray(), _bucketElements);
            foreach (var (first, count, elements) in plan)
            {
                if (elements > int.MaxValue) throw new InvalidOperationException($"a gradient of {elements} elements exceeds one MPI call's count.");
                var grads = withGrad.Skip(first).Take(count).Select(p => p.grad!).ToArray();
                var flat = torch.cat(grads.Select(g => g.flatten()).ToArray()).to(ScalarType.Float32, CPU).contiguous();
                if (weight != 1.0) flat.mul_(weight);
                HostMemory.AllReduceSum(_comm, flat);
                Calls++;
                Bytes += elements * sizeof(float);
                long offset = 0;
                foreach (var g in grads)
                {
                    long n = g.numel();
                    g.copy_(flat.narrow(0, offset, n).view(g.shape));
                    offset += n;
                }
            }
        }
        Elapsed += clock.Elapsed;
        s_steps++;
        s_calls += Calls - calls;
        s_bytes += Bytes - bytes;
        s_elapsed += clock.Elapsed;
    }
}
