namespace Sgnas.SearchSpace;

/// <summary>
/// Seeded random architectures: per layer a uniform expansion rate, then a uniform kernel per active sub-block
/// (SPOS-style uniform path sampling), returned canonical unless asked otherwise.
/// </summary>
public sealed class ArchitectureSampler
{
    private readonly SearchSpacePreset _preset;
    private readonly Random _rng;

    /// <summary>Creates a sampler with its own random state.</summary>
    public ArchitectureSampler(SearchSpacePreset preset, int seed)
    {
        _preset = preset; _rng = new Random(seed);
    }

    /// <summary>One random layer choice (kernels in sub-block order).</summary>
    public LayerChoice SampleLayer()
    {
        int e = _rng.Next(_preset.MinExpansion, _preset.MaxExpansion + 1);
        var ks = new int[e];
        for (int j = 0; j < e; j++) ks[j] = _preset.Kernels[_rng.Next(_preset.Kernels.Count)];
        return new LayerChoice(ks);
    }

    /// <summary>One random architecture.</summary>
    public Architecture Sample(bool canonical = true)
    {
        var a = new Architecture(Enumerable.Range(0, _preset.LayerCount).Select(_ => SampleLayer()));
        return canonical ? a.Canonical() : a;
    }

    /// <summary>The underlying random state (for strategies that need more draws from the same stream).</summary>
    public Random Random => _rng;
}
