namespace Sgnas.SearchSpace;

/// <summary>
/// The choice of one unified block: expansion rate e (= number of active sub-blocks) and the kernel of each
/// active sub-block. Under forced sampling (docs/design.md §2) the active sub-blocks are a prefix, and kernel
/// lists that differ only in order are the same network, so the canonical form keeps kernels sorted ascending.
/// </summary>
public sealed class LayerChoice : IEquatable<LayerChoice>
{
    /// <summary>Kernel sizes of the active sub-blocks, in sub-block order (canonical: ascending).</summary>
    public IReadOnlyList<int> Kernels { get; }

    /// <summary>Expansion rate: the number of active sub-blocks.</summary>
    public int Expansion => Kernels.Count;

    /// <summary>Creates a layer choice; kernels are kept in the given order (see <see cref="Canonical"/>).</summary>
    public LayerChoice(IEnumerable<int> kernels) => Kernels = kernels.ToArray();

    /// <summary>The same network with kernels in ascending order.</summary>
    public LayerChoice Canonical() => new(Kernels.OrderBy(k => k));

    /// <summary>True if kernels are in ascending order.</summary>
    public bool IsCanonical
    {
        get { for (int i = 1; i < Kernels.Count; i++) if (Kernels[i] < Kernels[i - 1]) return false; return true; }
    }

    /// <inheritdoc />
    public bool Equals(LayerChoice? other) => other != null && Kernels.SequenceEqual(other.Kernels);
    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as LayerChoice);
    /// <inheritdoc />
    public override int GetHashCode() { var h = new HashCode(); foreach (var k in Kernels) h.Add(k); return h.ToHashCode(); }
    /// <summary>Text form of one layer, e.g. <c>e4:3,3,5,7</c>.</summary>
    public override string ToString() => $"e{Expansion}:{string.Join(",", Kernels)}";
}

/// <summary>
/// A discrete architecture of a search space: one <see cref="LayerChoice"/> per unified block.
/// Immutable; equality is by value, so canonical architectures can key caches.
/// </summary>
public sealed class Architecture : IEquatable<Architecture>
{
    /// <summary>Per-layer choices.</summary>
    public IReadOnlyList<LayerChoice> Layers { get; }

    /// <summary>Creates an architecture from layer choices (not validated: see <see cref="Validate"/>).</summary>
    public Architecture(IEnumerable<LayerChoice> layers) => Layers = layers.ToArray();

    /// <summary>The same networks with every layer canonical (kernels ascending).</summary>
    public Architecture Canonical() => new(Layers.Select(l => l.Canonical()));

    /// <summary>Every layer at the same expansion and kernel, e.g. MobileNetV2 = Uniform(16, 6, 3).</summary>
    public static Architecture Uniform(int layers, int expansion, int kernel) =>
        new(Enumerable.Range(0, layers).Select(_ => new LayerChoice(Enumerable.Repeat(kernel, expansion))));

    /// <summary>The largest architecture of a preset: every sub-block active with the largest kernel.</summary>
    public static Architecture Largest(SearchSpacePreset p) => Uniform(p.LayerCount, p.MaxExpansion, p.Kernels.Max());

    /// <summary>The smallest architecture of a preset: minimum expansion with the smallest kernel.</summary>
    public static Architecture Smallest(SearchSpacePreset p) => Uniform(p.LayerCount, p.MinExpansion, p.Kernels.Min());

    /// <summary>Throws <see cref="ArgumentException"/> naming the first layer that does not fit the preset.</summary>
    public void Validate(SearchSpacePreset preset)
    {
        if (Layers.Count != preset.LayerCount)
            throw new ArgumentException($"Architecture has {Layers.Count} layers; preset '{preset.Name}' has {preset.LayerCount}.");
        for (int i = 0; i < Layers.Count; i++)
        {
            var l = Layers[i];
            if (l.Expansion < preset.MinExpansion || l.Expansion > preset.MaxExpansion)
                throw new ArgumentException(
                    $"Layer {i}: expansion rate {l.Expansion} is outside {preset.MinExpansion}..{preset.MaxExpansion}.");
            foreach (var k in l.Kernels)
                if (!preset.Kernels.Contains(k))
                    throw new ArgumentException($"Layer {i}: unknown kernel {k}; the preset allows {string.Join(", ", preset.Kernels)}.");
        }
    }

    /// <summary>
    /// One-hot α map of shape [layers, maxExpansion, options] (options = kernels then skip), flattened row-major.
    /// Sub-block j of a layer takes kernel j of the choice when j &lt; e, otherwise skip (forced sampling).
    /// </summary>
    public float[] ToOneHot(SearchSpacePreset preset)
    {
        Validate(preset);
        int s = preset.MaxExpansion, o = preset.OptionCount;
        var a = new float[Layers.Count * s * o];
        for (int i = 0; i < Layers.Count; i++)
            for (int j = 0; j < s; j++)
            {
                int opt = j < Layers[i].Expansion ? IndexOfKernel(preset, Layers[i].Kernels[j]) : preset.SkipIndex;
                a[(i * s + j) * o + opt] = 1f;
            }
        return a;
    }

    /// <summary>
    /// Decodes an α map (one-hot or relaxed) by argmax per sub-block, then applies forced sampling: the active
    /// sub-blocks are those before the first skip, at least <c>MinExpansion</c> of them (a skip chosen inside the
    /// required prefix is replaced by that sub-block's best kernel). The result is canonical.
    /// </summary>
    public static Architecture FromAlpha(SearchSpacePreset preset, ReadOnlySpan<float> alpha)
    {
        int s = preset.MaxExpansion, o = preset.OptionCount;
        if (alpha.Length != preset.LayerCount * s * o)
            throw new ArgumentException($"α map has {alpha.Length} values; preset '{preset.Name}' needs {preset.LayerCount}×{s}×{o}.");
        var layers = new List<LayerChoice>(preset.LayerCount);
        for (int i = 0; i < preset.LayerCount; i++)
        {
            var kernels = new List<int>(s);
            for (int j = 0; j < s; j++)
            {
                var row = alpha.Slice((i * s + j) * o, o);
                int best = ForcedSampling.ArgMax(row, allowSkip: j >= preset.MinExpansion, preset.SkipIndex);
                if (best == preset.SkipIndex) break;
                kernels.Add(preset.Kernels[best]);
            }
            layers.Add(new LayerChoice(kernels).Canonical());
        }
        return new Architecture(layers);
    }

    internal static int IndexOfKernel(SearchSpacePreset p, int k) => IndexOfKernel(p.Kernels, k);

    internal static int IndexOfKernel(IReadOnlyList<int> kernels, int k)
    {
        for (int i = 0; i < kernels.Count; i++) if (kernels[i] == k) return i;
        throw new ArgumentException($"Unknown kernel {k}.");
    }

    /// <inheritdoc />
    public bool Equals(Architecture? other) => other != null && Layers.SequenceEqual(other.Layers);
    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as Architecture);
    /// <inheritdoc />
    public override int GetHashCode() { var h = new HashCode(); foreach (var l in Layers) h.Add(l); return h.ToHashCode(); }
    /// <summary>Text form, e.g. <c>e4:3,3,5,7|e2:7,7</c> (see <see cref="ArchitectureCodec"/>).</summary>
    public override string ToString() => ArchitectureCodec.ToText(this);
}
