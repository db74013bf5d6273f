using Sgnas.Distributed;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Distributed;

/// <summary>Synchronised BN over one rank is torch's batch norm: outputs, gradients and running statistics (docs/distributed.md §3).</summary>
public sealed class SyncBatchNormTests
{
    [Fact]
    public void OneRankEqualsTorchBatchNormInValueGradientAndRunningStatistics()
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        manual_seed(3);
        var x = randn(6, 4, 5, 5) * 2 + 1;
        var w = randn(4); var b = randn(4);
        var (x1, w1, b1) = (x.clone().requires_grad_(), w.clone().requires_grad_(), b.clone().requires_grad_());
        var (x2, w2, b2) = (x.clone().requires_grad_(), w.clone().requires_grad_(), b.clone().requires_grad_());
        var (rm1, rv1, rm2, rv2) = (zeros(4), ones(4), zeros(4), ones(4));
        var upstream = randn(6, 4, 5, 5);

        var y1 = nn.functional.batch_norm(x1, rm1, rv1, w1, b1, training: true, momentum: 0.1, eps: 1e-5);
        (y1 * upstream).sum().backward();
        Tensor y2;
        using (SyncBatchNorm.Enter(SingleProcessCommunicator.Instance))
            y2 = BatchNormDispatch.Functional(x2, rm2, rv2, w2, b2, training: true, momentum: 0.1, eps: 1e-5);
        (y2 * upstream).sum().backward();

        Assert.True(y1.allclose(y2, rtol: 1e-4, atol: 1e-5));
        Assert.True(x1.grad!.allclose(x2.grad!, rtol: 1e-3, atol: 1e-4));
        Assert.True(w1.grad!.allclose(w2.grad!, rtol: 1e-4, atol: 1e-4));
        Assert.True(b1.grad!.allclose(b2.grad!, rtol: 1e-4, atol: 1e-4));
        Assert.True(rm1.allclose(rm2, atol: 1e-5) && rv1.allclose(rv2, atol: 1e-5));
        // Outside a scope the dispatch is plain batch norm.
        Assert.Null(SyncBatchNorm.Active);
    }
}
