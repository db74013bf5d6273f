namespace Sgnas.Data;

/// <summary>
/// Derives stream seeds from (seed, epoch, stream). HashCode.Combine would not do: it is randomized per process.
/// </summary>
internal static class SeedMix
{
    /// <summary>SplitMix64 finalizer over the three values, folded to a non-negative int.</summary>
    public static int Mix(int seed, int epoch, int stream)
    {
        ulong z = ((ulong)(uint)seed << 32 | (uint)epoch) ^ ((ulong)(uint)stream * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }
}
