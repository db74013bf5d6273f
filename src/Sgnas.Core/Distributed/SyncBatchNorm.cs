using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Distributed;

/// <summary>
/// Synchronised batch norm: in training mode the per-channel mean and variance are those of the global batch over all
/// ranks, so N ranks at global batch B compute what one process computes at batch B (docs/distributed.md §3).
/// <para>
/// Each rank sums x and x² over its rows (and counts them); one all-reduce gives the global sums; mean = S/n and the
/// biased variance Q/n − mean² normalise, the unbiased variance updates the running statistics as
/// <c>torch.nn.BatchNorm2d</c> does. The all-reduce is differentiable (<see cref="AllReduceSumFunction"/>): its
/// backward all-reduces the incoming gradient, because every rank's loss depends on every rank's sums.
/// </para>
/// Active only inside <see cref="Enter"/> scopes that the trainers open around a training step, so BN recalibration
/// and evaluation (which run different candidates on different ranks) keep per-rank statistics.
/// </summary>
public static class SyncBatchNorm
{
    private static ICommunicator? s_active;

    /// <summary>The communicator of the open scope, or null when batch norm is per rank.</summary>
    public static ICommunicator? Active => s_active;

    /// <summary>Makes training-mode batch norms synchronise over <paramref name="comm"/> until the scope is disposed.</summary>
    public static IDisposable Enter(ICommunicator comm)
    {
        ArgumentNullException.ThrowIfNull(comm);
        var previous = s_active;
        s_active = comm;
        return new Scope(previous);
    }

    /// <summary>
    /// Batch norm in training mode over the global batch of all ranks of <paramref name="comm"/>; updates the running
    /// statistics in place with <paramref name="momentum"/> (weight of the new batch).
    /// </summary>
    public static Tensor Forward(ICommunicator comm, Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias,
        double momentum, double eps)
    {
        ArgumentNullException.ThrowIfNull(comm);
        ArgumentNullException.ThrowIfNull(x);
        if (x.dim() < 2) throw new ArgumentException($"batch norm expects [N, C, …]; got {x.dim()} dimensions.", nameof(x));
        long c = x.shape[1];
        var dims = Enumerable.Range(0, (int)x.dim()).Where(d => d != 1).Select(d => (long)d).ToArray();
        long local = x.numel() / c;
        var shape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
        shape[1] = c;
        var count = torch.full(1, (double)local, dtype: x.dtype, device: x.device);
        var packed = AllReduceSumFunction.Apply(comm, torch.cat([x.sum(dims), (x * x).sum(dims), count]));
        double n = packed[2 * c].item<float>();
        var mean = packed.narrow(0, 0, c) / n;
        var variance = packed.narrow(0, c, c) / n - mean * mean;
        var y = (x - mean.view(shape)) * torch.rsqrt(variance + eps).view(shape);
        if (weight is not null) y = y * weight.view(shape);
        if (bias is not null) y = y + bias.view(shape);
        if (runningMean is not null && runningVar is not null)
            using (no_grad())
            {
                runningMean.mul_(1 - momentum).add_(mean.detach() * momentum);
                runningVar.mul_(1 - momentum).add_(variance.detach() * (n / Math.Max(n - 1, 1)) * momentum);
            }
        return y;
    }

    private sealed class Scope(ICommunicator? previous) : IDisposable
    {
        private bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            s_active = previous;
        }
    }
}
