using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Search;

/// <summary>
/// Batch-norm recalibration of one candidate before it is scored (SPOS section 3.4; docs/design.md §5): the
/// statistics the supernet accumulated over many paths do not fit a single path, so they are recomputed on a
/// subset of training images with that path alone. Weights never change; only BN running statistics do.
/// </summary>
public static class BnRecalibration
{
    /// <summary>
    /// Resets the running statistics of every BN of <paramref name="net"/>, forwards <paramref name="batches"/>
    /// through the single path <paramref name="arch"/> in train mode without gradients, so that the BNs on that path
    /// (stem and head BNs, the active slice of each expand BN, the used depthwise BNs and the shadow BN of each
    /// layer's rate) hold the cumulative average of the batch statistics, then leaves the net in eval mode with the
    /// BN momenta it had before. BNs off the path are left reset; every candidate is recalibrated before scoring.
    /// </summary>
    /// <param name="net">The supernet; its parameters are not modified.</param>
    /// <param name="arch">The candidate path.</param>
    /// <param name="batches">Normalised training images [N, C, H, W] on the supernet's device; not disposed.</param>
    /// <exception cref="ArgumentException">No batches were given.</exception>
    public static void Recalibrate(Supernet net, Architecture arch, IReadOnlyList<Tensor> batches)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(arch);
        Recalibrate(net, batches, x => net.Forward(x, arch));
    }

    /// <summary>
    /// As <see cref="Recalibrate(Supernet, Architecture, IReadOnlyList{Tensor})"/> for a positional path
    /// (<see cref="Supernet.ForwardPath"/>): a prefix path is the single path of its position-ordered architecture;
    /// a path with a skip in the middle is forwarded as such (docs/generator.md).
    /// </summary>
    public static void Recalibrate(Supernet net, SupernetPath path, IReadOnlyList<Tensor> batches)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(path);
        if (path.IsPrefix) { Recalibrate(net, path.ToPrefixArchitecture(), batches); return; }
        Recalibrate(net, batches, x => net.ForwardPath(x, path));
    }

    private static void Recalibrate(Supernet net, IReadOnlyList<Tensor> batches, Func<Tensor, Tensor> forward)
    {
        ArgumentNullException.ThrowIfNull(batches);
        if (batches.Count == 0) throw new ArgumentException("BN recalibration needs at least one batch of training images.", nameof(batches));

        var bns = BatchNorms(net);
        var momenta = bns.Select(b => b.momentum).ToArray();
        try
        {
            foreach (var bn in bns) bn.reset_running_stats();
            net.train();
            using var noGrad = no_grad();
            for (int t = 0; t < batches.Count; t++)
            {
                // Momentum 1/(t+1) turns the exponential update into the cumulative average of the batch statistics
                // (what PyTorch does for momentum=None). It is set explicitly because the unified block normalises
                // the active slice of its expand BN through the functional batch_norm, which reads the momentum value
                // and would fall back to 0.1 for null.
                double m = 1.0 / (t + 1);
                foreach (var bn in bns) bn.momentum = m;
                using var scope = NewDisposeScope();
                forward(batches[t]);
            }
        }
        finally
        {
            for (int i = 0; i < bns.Count; i++) bns[i].momentum = momenta[i];
            net.eval();
        }
    }

    /// <summary>Every BatchNorm2d module of <paramref name="net"/>.</summary>
    public static IReadOnlyList<BatchNorm2d> BatchNorms(nn.Module net) => net.modules().OfType<BatchNorm2d>().ToList();
}
