using Sgnas.Runtime;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Distributed;

/// <summary>
/// The one place the network modules run batch norm through: plain <c>torch.nn</c> batch norm, or
/// <see cref="SyncBatchNorm"/> while a synchronised training step is open on a module in training mode.
/// </summary>
public static class BatchNormDispatch
{
    /// <summary>Runs <paramref name="bn"/> on <paramref name="x"/> (as <c>bn.call(x)</c>, or synchronised).</summary>
    public static Tensor Bn(BatchNorm2d bn, Tensor x)
    {
        ArgumentNullException.ThrowIfNull(bn);
        if (SyncBatchNorm.Active is not { } comm || !bn.training) return bn.call(x);
        double momentum;
        using (no_grad())
        {
            if (bn.num_batches_tracked is { } count) HeldScalars.Increment(count);
            // momentum null means a cumulative average, as in torch.nn.BatchNorm2d.
            momentum = bn.momentum ?? 1.0 / Math.Max(1, bn.num_batches_tracked?.item<long>() ?? 1);
        }
        return SyncBatchNorm.Forward(comm, x, bn.running_mean, bn.running_var, bn.weight, bn.bias, momentum, bn.eps);
    }

    /// <summary>Functional batch norm (as <c>F.batch_norm</c>, or synchronised when <paramref name="training"/>).</summary>
    public static Tensor Functional(Tensor x, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias, bool training, double momentum, double eps)
    {
        if (SyncBatchNorm.Active is { } comm && training)
            return SyncBatchNorm.Forward(comm, x, runningMean, runningVar, weight, bias, momentum, eps);
        return F.batch_norm(x, runningMean, runningVar, weight, bias, training, momentum, eps);
    }
}
