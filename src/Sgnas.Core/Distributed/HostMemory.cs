using static TorchSharp.torch;

namespace Sgnas.Distributed;

/// <summary>Reduces a contiguous float32 CPU tensor in place through its native memory (no managed copy).</summary>
internal static unsafe class HostMemory
{
    /// <summary>Replaces <paramref name="t"/> by its sum over the ranks of <paramref name="comm"/>.</summary>
    public static void AllReduceSum(ICommunicator comm, Tensor t)
    {
        if (t.dtype != ScalarType.Float32 || t.device_type != TorchSharp.DeviceType.CPU || !t.is_contiguous())
            throw new ArgumentException("expected a contiguous float32 CPU tensor.", nameof(t));
        if (t.numel() == 0) return;
        // Tensor.bytes spans the tensor's own storage on the CPU, so MPI writes the result where the tensor reads it.
        fixed (byte* p = t.bytes) comm.AllReduceSumFloat((IntPtr)p, checked((int)t.numel()));
    }
}
