namespace Sgnas.SearchSpace;

/// <summary>
/// A positional path through the supernet: for every layer and every sub-block position j, the option that
/// sub-block takes (a kernel index into <see cref="SearchSpacePreset.Kernels"/>, or
/// <see cref="SearchSpacePreset.SkipIndex"/>). It is what a one-hot α map selects, position by position, so the
/// relaxed forward of the generator (SGNAS Eq. 2) with that one-hot map computes exactly this path
/// (docs/generator.md, "One network for the generator and for scoring").
/// <para>
/// An <see cref="Architecture"/> is the identity of the derived network (FLOPs, retraining, reports): an expansion
/// rate and the multiset of its kernels. Several paths derive the same architecture (kernels permuted over the
/// active positions, skips in the middle); with inherited supernet weights they are different networks, because
/// sub-block j owns its depthwise weights and its channel slice of the pointwise convs. Forced sampling trains the
/// prefix paths (<see cref="IsPrefix"/>, kernels in any order); a path with a skip in the middle is valid but was
/// never trained as such.
/// </para>
/// Text form: layers separated by <c>|</c>, sub-blocks by <c>,</c>, a kernel size or <c>-</c> for skip, e.g.
/// <c>5,3,-,7,-,-|3,3,3,-,-,-</c>.
/// </summary>
public sealed class SupernetPath : IEquatable<SupernetPath>
{
    private readonly int[] _options;

    private SupernetPath(SearchSpacePreset preset, int[] options)
    {
        Preset = preset; _options = options;
    }

    /// <summary>The search space.</summary>
    public SearchSpacePreset Preset { get; }

    /// <summary>Number of layers.</summary>
    public int LayerCount => Preset.LayerCount;

    /// <summary>Option per [layer, sub-block], flattened row-major (length layers × e_max).</summary>
    public ReadOnlySpan<int> Options => _options;

    /// <summary>The options of one layer (length e_max).</summary>
    public ReadOnlySpan<int> Layer(int layer) => _options.AsSpan(layer * Preset.MaxExpansion, Preset.MaxExpansion);

    /// <summary>Number of active (non-skip) sub-blocks of a layer: its expansion rate.</summary>
    public int ActiveCount(int layer)
    {
        int n = 0;
        foreach (var o in Layer(layer)) if (o != Preset.SkipIndex) n++;
        return n;
    }

    /// <summary>True if every layer's active sub-blocks form a prefix (forced sampling; kernels in any order).</summary>
    public bool IsPrefix
    {
        get
        {
            for (int i = 0; i < LayerCount; i++) if (MiddleSkips(i) > 0) return false;
            return true;
        }
    }

    /// <summary>Skipped sub-blocks of a layer that have an active sub-block after them.</summary>
    public int MiddleSkips(int layer)
    {
        var l = Layer(layer);
        int last = -1;
        for (int j = 0; j < l.Length; j++) if (l[j] != Preset.SkipIndex) last = j;
        int n = 0;
        for (int j = 0; j < last; j++) if (l[j] == Preset.SkipIndex) n++;
        return n;
    }

    /// <summary>Total number of middle skips over all layers.</summary>
    public int MiddleSkipCount { get { int n = 0; for (int i = 0; i < LayerCount; i++) n += MiddleSkips(i); return n; } }

    /// <summary>
    /// A path from per-sub-block options [layers × e_max].
    /// </summary>
    /// <exception cref="ArgumentException">Wrong length, an unknown option, skip where forced sampling forbids it
    /// (<see cref="ForcedSampling.SkipAllowed"/>), or fewer than <c>MinExpansion</c> active sub-blocks.</exception>
    public static SupernetPath FromOptions(SearchSpacePreset preset, ReadOnlySpan<int> options)
    {
        ArgumentNullException.ThrowIfNull(preset);
        int L = preset.LayerCount, S = preset.MaxExpansion;
        if (options.Length != L * S)
            throw new ArgumentException($"a path of preset '{preset.Name}' has {L}×{S} options; got {options.Length}.", nameof(options));
        for (int i = 0; i < L; i++)
        {
            int active = 0;
            for (int j = 0; j < S; j++)
            {
                int o = options[i * S + j];
                if (o < 0 || o >= preset.OptionCount)
                    throw new ArgumentException($"layer {i}, sub-block {j}: option {o} is outside 0..{preset.OptionCount - 1}.", nameof(options));
                if (o == preset.SkipIndex && !ForcedSampling.SkipAllowed(preset, j))
                    throw new ArgumentException($"layer {i}, sub-block {j}: skip is not allowed below sub-block {preset.MinExpansion}.", nameof(options));
                if (o != preset.SkipIndex) active++;
            }
            if (active < preset.MinExpansion)
                throw new ArgumentException($"layer {i}: {active} active sub-blocks; at least {preset.MinExpansion} are required.", nameof(options));
        }
        return new SupernetPath(preset, options.ToArray());
    }

    /// <summary>
    /// The prefix path of an architecture: sub-block j takes <c>Kernels[j]</c> of its layer for j &lt; e (the order
    /// given, canonical or not), skip above. This is the path <see cref="Modules.Supernet.Forward"/> computes.
    /// </summary>
    public static SupernetPath FromArchitecture(SearchSpacePreset preset, Architecture arch)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(arch);
        arch.Validate(preset);
        int S = preset.MaxExpansion;
        var o = new int[preset.LayerCount * S];
        for (int i = 0; i < preset.LayerCount; i++)
            for (int j = 0; j < S; j++)
                o[i * S + j] = j < arch.Layers[i].Expansion ? Architecture.IndexOfKernel(preset, arch.Layers[i].Kernels[j]) : preset.SkipIndex;
        return new SupernetPath(preset, o);
    }

    /// <summary>
    /// The derived network's identity: per layer the kernels of the active sub-blocks, canonical (ascending). Two
    /// paths with the same architecture build the same stand-alone network (retraining starts from scratch).
    /// </summary>
    public Architecture ToArchitecture()
    {
        var layers = new LayerChoice[LayerCount];
        for (int i = 0; i < LayerCount; i++)
        {
            var ks = new List<int>(Preset.MaxExpansion);
            foreach (var o in Layer(i)) if (o != Preset.SkipIndex) ks.Add(Preset.Kernels[o]);
            layers[i] = new LayerChoice(ks).Canonical();
        }
        return new Architecture(layers);
    }

    /// <summary>
    /// The trained prefix path nearest to this one: each layer's active kernels moved, in their order, to the first
    /// positions (middle skips removed). Equals this path when <see cref="IsPrefix"/>.
    /// </summary>
    public SupernetPath Compacted()
    {
        int S = Preset.MaxExpansion;
        var o = new int[_options.Length];
        for (int i = 0; i < LayerCount; i++)
        {
            int n = 0;
            foreach (var x in Layer(i)) if (x != Preset.SkipIndex) o[i * S + n++] = x;
            for (; n < S; n++) o[i * S + n] = Preset.SkipIndex;
        }
        return new SupernetPath(Preset, o);
    }

    /// <summary>The prefix path in architecture form with kernels in position order (not canonical); requires <see cref="IsPrefix"/>.</summary>
    /// <exception cref="InvalidOperationException">The path has a skip in the middle of a layer.</exception>
    public Architecture ToPrefixArchitecture()
    {
        if (!IsPrefix) throw new InvalidOperationException($"path {this} has a skip in the middle of a layer; it is not a prefix path.");
        var layers = new LayerChoice[LayerCount];
        for (int i = 0; i < LayerCount; i++)
        {
            var ks = new List<int>(Preset.MaxExpansion);
            foreach (var o in Layer(i)) if (o != Preset.SkipIndex) ks.Add(Preset.Kernels[o]);
            layers[i] = new LayerChoice(ks);
        }
        return new Architecture(layers);
    }

    /// <summary>One-hot α map [layers, e_max, options], flattened row-major.</summary>
    public float[] ToOneHot()
    {
        int O = Preset.OptionCount;
        var a = new float[_options.Length * O];
        for (int n = 0; n < _options.Length; n++) a[n * O + _options[n]] = 1f;
        return a;
    }

    /// <summary>Parses the text form (see the type's remarks).</summary>
    /// <exception cref="FormatException">Malformed text or a kernel the preset does not have.</exception>
    public static SupernetPath Parse(string text, SearchSpacePreset preset)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(preset);
        var layers = text.Split('|');
        int S = preset.MaxExpansion;
        if (layers.Length != preset.LayerCount)
            throw new FormatException($"path '{text}' has {layers.Length} layers; preset '{preset.Name}' has {preset.LayerCount}.");
        var o = new int[preset.LayerCount * S];
        for (int i = 0; i < layers.Length; i++)
        {
            var parts = layers[i].Split(',');
            if (parts.Length != S) throw new FormatException($"path layer {i} '{layers[i]}' has {parts.Length} sub-blocks; expected {S}.");
            for (int j = 0; j < S; j++)
            {
                var s = parts[j].Trim();
                if (s == "-") { o[i * S + j] = preset.SkipIndex; continue; }
                if (!int.TryParse(s, out int k) || !preset.Kernels.Contains(k))
                    throw new FormatException($"path layer {i}, sub-block {j}: '{s}' is neither '-' nor a kernel of {string.Join(",", preset.Kernels)}.");
                o[i * S + j] = Architecture.IndexOfKernel(preset, k);
            }
        }
        try { return FromOptions(preset, o); }
        catch (ArgumentException e) { throw new FormatException($"path '{text}': {e.Message}", e); }
    }

    /// <inheritdoc />
    public override string ToString()
    {
        int S = Preset.MaxExpansion;
        return string.Join("|", Enumerable.Range(0, LayerCount).Select(i =>
            string.Join(",", _options.Skip(i * S).Take(S).Select(o => o == Preset.SkipIndex ? "-" : Preset.Kernels[o].ToString(System.Globalization.CultureInfo.InvariantCulture)))));
    }

    /// <inheritdoc />
    public bool Equals(SupernetPath? other) => other != null && Preset.Name == other.Preset.Name && _options.AsSpan().SequenceEqual(other._options);
    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as SupernetPath);
    /// <inheritdoc />
    public override int GetHashCode() { var h = new HashCode(); h.Add(Preset.Name); foreach (var o in _options) h.Add(o); return h.ToHashCode(); }
}
