using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.SearchSpace;

namespace Sgnas.Search;

/// <summary>
/// A preset's architecture space as named choice parameters, in the manner of ML.NET AutoML's
/// <c>SearchSpace&lt;T&gt;</c> (Microsoft.ML.SearchSpace is not obtainable here, docs/design.md §6):
/// <list type="bullet">
/// <item><c>layer{i}.expansion</c> ∈ MinExpansion..MaxExpansion (2..6): the number of active sub-blocks;</item>
/// <item><c>layer{i}.kernel{j}</c> ∈ the preset's kernels (3, 5, 7) for j = 0..MaxExpansion−1: the kernel of
/// sub-block j, read only when j &lt; expansion (forced sampling keeps the active sub-blocks a prefix).</item>
/// </list>
/// Like AutoML's feature space, every parameter maps to one coordinate of the unit cube, coordinates in ordinal
/// sorted key order (so <c>layer10.*</c> sorts before <c>layer2.*</c>); a choice with n values takes index
/// ⌊u·n⌋ (clamped), and a value of index i maps to the centre (i + ½)/n of its cell, so encode/decode round-trips.
/// A tuner that samples or perturbs the cube therefore needs to know nothing about networks.
/// <para>
/// Correspondence with AutoML: <see cref="ArchitectureSearchSpace"/> ↔ <c>SearchSpace&lt;T&gt;</c> (parameters,
/// <c>FeatureSpaceDim</c>, <c>SampleFromFeatureSpace</c> ↔ <see cref="FromUnitVector"/>,
/// <c>MappingToFeatureSpace</c> ↔ <see cref="ToUnitVector"/>); <see cref="IArchitectureTuner.Propose"/> ↔
/// <c>ITuner.Propose(TrialSettings)</c>; <see cref="IArchitectureTuner.Update"/> ↔ <c>ITuner.Update(TrialResult)</c>;
/// <see cref="Trial"/> ↔ <c>TrialSettings</c> + <c>TrialResult</c>.
/// </para>
/// </summary>
public sealed class ArchitectureSearchSpace
{
    private readonly string[] _keys;
    private readonly Dictionary<string, int[]> _choices;

    /// <summary>Builds the space of <paramref name="preset"/>.</summary>
    public ArchitectureSearchSpace(SearchSpacePreset preset)
    {
        Preset = preset ?? throw new ArgumentNullException(nameof(preset));
        _choices = new Dictionary<string, int[]>(StringComparer.Ordinal);
        var rates = Enumerable.Range(preset.MinExpansion, preset.MaxExpansion - preset.MinExpansion + 1).ToArray();
        var kernels = preset.Kernels.OrderBy(k => k).ToArray();
        for (int i = 0; i < preset.LayerCount; i++)
        {
            _choices[ExpansionKey(i)] = rates;
            for (int j = 0; j < preset.MaxExpansion; j++) _choices[KernelKey(i, j)] = kernels;
        }
        _keys = _choices.Keys.OrderBy(k => k, StringComparer.Ordinal).ToArray();
    }

    /// <summary>The preset this space describes.</summary>
    public SearchSpacePreset Preset { get; }

    /// <summary>Parameter names in ordinal sorted order (the order of unit-vector coordinates).</summary>
    public IReadOnlyList<string> Keys => _keys;

    /// <summary>Dimension of the unit cube (one coordinate per parameter).</summary>
    public int FeatureSpaceDimension => _keys.Length;

    /// <summary>The allowed values of parameter <paramref name="key"/>, ascending.</summary>
    /// <exception cref="KeyNotFoundException">Unknown parameter name.</exception>
    public IReadOnlyList<int> Choices(string key) =>
        _choices.TryGetValue(key, out var c) ? c : throw new KeyNotFoundException($"'{key}' is not a parameter of search space '{Preset.Name}'.");

    /// <summary>Name of layer <paramref name="layer"/>'s expansion parameter.</summary>
    public static string ExpansionKey(int layer) => $"layer{layer.ToString(CultureInfo.InvariantCulture)}.expansion";

    /// <summary>Name of the kernel parameter of sub-block <paramref name="subBlock"/> in layer <paramref name="layer"/>.</summary>
    public static string KernelKey(int layer, int subBlock) =>
        $"layer{layer.ToString(CultureInfo.InvariantCulture)}.kernel{subBlock.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Parameters of <paramref name="arch"/> (canonicalised): its expansion and kernels per layer; kernels of
    /// inactive sub-blocks take the smallest kernel so that equal architectures give equal parameters.
    /// </summary>
    public SortedDictionary<string, int> ToParameters(Architecture arch)
    {
        ArgumentNullException.ThrowIfNull(arch);
        arch.Validate(Preset);
        var c = arch.Canonical();
        var p = new SortedDictionary<string, int>(StringComparer.Ordinal);
        int smallest = Preset.Kernels.Min();
        for (int i = 0; i < c.Layers.Count; i++)
        {
            var l = c.Layers[i];
            p[ExpansionKey(i)] = l.Expansion;
            for (int j = 0; j < Preset.MaxExpansion; j++) p[KernelKey(i, j)] = j < l.Expansion ? l.Kernels[j] : smallest;
        }
        return p;
    }

    /// <summary>The canonical architecture of a full parameter set.</summary>
    /// <exception cref="ArgumentException">A parameter is missing, unknown, or holds a value outside its choices.</exception>
    public Architecture FromParameters(IReadOnlyDictionary<string, int> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var (key, value) in parameters)
        {
            if (!_choices.TryGetValue(key, out var allowed))
                throw new ArgumentException($"'{key}' is not a parameter of search space '{Preset.Name}' (expected layer{{i}}.expansion or layer{{i}}.kernel{{j}}).", nameof(parameters));
            if (Array.IndexOf(allowed, value) < 0)
                throw new ArgumentException($"parameter '{key}' = {value} is not one of {string.Join(", ", allowed)}.", nameof(parameters));
        }
        var layers = new List<LayerChoice>(Preset.LayerCount);
        for (int i = 0; i < Preset.LayerCount; i++)
        {
            int e = Get(parameters, ExpansionKey(i));
            var ks = new int[e];
            for (int j = 0; j < e; j++) ks[j] = Get(parameters, KernelKey(i, j));
            layers.Add(new LayerChoice(ks).Canonical());
        }
        return new Architecture(layers);
    }

    private static int Get(IReadOnlyDictionary<string, int> p, string key) =>
        p.TryGetValue(key, out int v) ? v : throw new ArgumentException($"parameter '{key}' is missing.", nameof(p));

    /// <summary>The point of the unit cube that represents <paramref name="arch"/> (cell centres, sorted key order).</summary>
    public double[] ToUnitVector(Architecture arch)
    {
        var p = ToParameters(arch);
        var u = new double[_keys.Length];
        for (int d = 0; d < _keys.Length; d++)
        {
            var allowed = _choices[_keys[d]];
            u[d] = (Array.IndexOf(allowed, p[_keys[d]]) + 0.5) / allowed.Length;
        }
        return u;
    }

    /// <summary>The parameters at point <paramref name="u"/> of the unit cube (values outside [0, 1] are clamped).</summary>
    /// <exception cref="ArgumentException">Wrong dimension or a non-finite coordinate.</exception>
    public SortedDictionary<string, int> ParametersAt(ReadOnlySpan<double> u)
    {
        if (u.Length != _keys.Length)
            throw new ArgumentException($"unit vector has {u.Length} coordinates; search space '{Preset.Name}' has {_keys.Length}.", nameof(u));
        var p = new SortedDictionary<string, int>(StringComparer.Ordinal);
        for (int d = 0; d < _keys.Length; d++)
        {
            if (!double.IsFinite(u[d])) throw new ArgumentException($"coordinate {d} ({_keys[d]}) is {u[d]}.", nameof(u));
            var allowed = _choices[_keys[d]];
            int idx = Math.Clamp((int)Math.Floor(u[d] * allowed.Length), 0, allowed.Length - 1);
            p[_keys[d]] = allowed[idx];
        }
        return p;
    }

    /// <summary>The canonical architecture at point <paramref name="u"/> of the unit cube.</summary>
    public Architecture FromUnitVector(ReadOnlySpan<double> u) => FromParameters(ParametersAt(u));

    /// <summary>A uniformly random point of the unit cube drawn from <paramref name="random"/>.</summary>
    public double[] SampleUnitVector(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var u = new double[_keys.Length];
        for (int d = 0; d < u.Length; d++) u[d] = random.NextDouble();
        return u;
    }

    /// <summary>
    /// JSON description in the spirit of AutoML's search-space JSON: one entry per parameter in sorted key order
    /// with its type and choices, plus the preset name and the feature-space dimension.
    /// </summary>
    public string ToJson()
    {
        var parameters = new JsonObject();
        foreach (var k in _keys)
        {
            var arr = new JsonArray();
            foreach (var v in _choices[k]) arr.Add(v);
            parameters[k] = new JsonObject { ["type"] = "choice", ["choices"] = arr };
        }
        var root = new JsonObject
        {
            ["preset"] = Preset.Name,
            ["layers"] = Preset.LayerCount,
            ["featureSpaceDimension"] = _keys.Length,
            ["note"] = "layer{i}.kernel{j} is read only when j < layer{i}.expansion (forced sampling); kernels of a layer are order-free.",
            ["parameters"] = parameters,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }
}
