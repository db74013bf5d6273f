using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Runtime;

/// <summary>
/// Scalar arguments that stay alive for the whole native call. TorchSharp hands libtorch the native handle of a
/// <see cref="Scalar"/> and keeps nothing alive while libtorch runs, so the temporary that an implicit conversion
/// makes (<c>t.add_(1)</c>, whose <c>alpha</c> is another temporary) can be finalised — its native scalar freed — by a
/// garbage collection on another thread mid-call. A full experiment run died of it once after ~40 minutes
/// ("Unknown scalar type" in <c>add_</c> during BN recalibration; docs/reliability.md). Hot paths therefore make their
/// scalars explicitly and hold them (<c>using</c>) until the call has returned.
/// </summary>
public static class HeldScalars
{
    /// <summary>Adds one to <paramref name="counter"/> in place (a BN layer's <c>num_batches_tracked</c>).</summary>
    public static void Increment(Tensor counter)
    {
        ArgumentNullException.ThrowIfNull(counter);
        using var one = 1L.ToScalar();
        counter.add_(one, one);
    }
}
