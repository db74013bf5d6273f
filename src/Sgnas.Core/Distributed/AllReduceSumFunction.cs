using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Distributed;

/// <summary>
/// Differentiable all-reduce (sum): forward returns Σ_ranks x; backward returns Σ_ranks of the incoming gradient,
/// since with y = Σ_r x_r used by every rank's loss L_r, ∂(Σ_r L_r)/∂x_r = Σ_r ∂L_r/∂y.
/// Host copy of the values (portable with any MPI; docs/distributed.md §4).
/// </summary>
internal sealed class AllReduceSumFunction : torch.autograd.SingleTensorFunction<AllReduceSumFunction>
{
    public override string Name => "SgnasAllReduceSum";

    /// <summary>Σ_ranks <paramref name="x"/>, differentiable.</summary>
    public static Tensor Apply(ICommunicator comm, Tensor x)
    {
        return apply(x, comm);
    }

    public override Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var comm = (ICommunicator)vars[1];
        ctx.save_data("comm", comm);
        return Reduce(comm, x);
    }

    public override List<Tensor> backward(torch.autograd.AutogradContext ctx, Tensor grad_output) =>
        [Reduce((ICommunicator)ctx.get_data("comm"), grad_output), null!];

    internal static Tensor Reduce(ICommunicator comm, Tensor x)
    {
        var host = x.detach().to(ScalarType.Float32, CPU).contiguous().clone();
        HostMemory.AllReduceSum(comm, host);
        return host.to(x.dtype, x.device);
    }
}
