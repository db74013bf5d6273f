using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>
/// Parameters of the standalone <see cref="Modules.ChildNetwork"/> of an architecture (default options: no SE),
/// counted analytically from the preset so that generating many architectures does not build networks.
/// Must equal <see cref="FlopsCounter.Count(SearchSpacePreset, Architecture, Modules.ChildNetworkOptions?)"/>'s
/// parameter count (tested).
/// </summary>
public static class ParameterCount
{
    /// <summary>Trainable parameters (convs, BN affine pairs, classifier weights and bias).</summary>
    public static long Child(SearchSpacePreset p, Architecture arch)
    {
        arch.Validate(p);
        long stem = (long)p.InputChannels * p.StemChannels * 9 + 2L * p.StemChannels
                    + 9L * p.StemChannels + 2L * p.StemChannels
                    + (long)p.StemChannels * p.FirstBlockChannels + 2L * p.FirstBlockChannels;
        long blocks = 0;
        var geo = p.Geometry();
        for (int i = 0; i < geo.Count; i++)
        {
            var g = geo[i]; var l = arch.Layers[i];
            long c = g.InChannels, wide = c * l.Expansion;
            blocks += c * wide + 2 * wide;                     // expand + BN
            blocks += l.Kernels.Sum(k => (long)k * k * c);     // depthwise per group
            blocks += 2 * wide;                                // BN over the concatenation
            blocks += wide * g.OutChannels + 2L * g.OutChannels; // project + BN
        }
        long head = (long)p.Layers[^1].OutChannels * p.HeadChannels + 2L * p.HeadChannels
                    + (long)p.HeadChannels * p.NumClasses + p.NumClasses;
        return stem + blocks + head;
    }

    /// <summary><see cref="Child"/> in millions.</summary>
    public static double ChildM(SearchSpacePreset p, Architecture arch) => Child(p, arch) / 1e6;
}
