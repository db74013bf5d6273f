using System.Text.Json;
using System.Text.Json.Serialization;
using Sgnas.IO;
using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>
/// A latency lookup table measured on one machine for batch 1 (docs/latency.md): per layer, the latency of one
/// sub-block's depthwise conv for each kernel and of everything else in the layer at each expansion rate; plus the
/// fixed stem and head. Written and read as versioned JSON (<see cref="CurrentSchemaVersion"/>) that records where
/// and how it was measured, so a table is never silently used on another machine, runtime or search space.
/// </summary>
public sealed record LatencyTable
{
    /// <summary>Schema version this code writes and reads.</summary>
    public const int CurrentSchemaVersion = 1;

    /// <summary>Schema version of the file.</summary>
    public int SchemaVersion { get; init; } = CurrentSchemaVersion;
    /// <summary>Name of the preset the table was measured for.</summary>
    public required string Preset { get; init; }
    /// <summary>Depthwise kernel options, in the order of <see cref="LatencyLayerEntry.DepthwiseMs"/>.</summary>
    public required IReadOnlyList<int> Kernels { get; init; }
    /// <summary>Smallest expansion rate; <see cref="LatencyLayerEntry.PointwiseMs"/>[0] is for this rate.</summary>
    public required int MinExpansion { get; init; }
    /// <summary>Largest expansion rate (number of sub-blocks).</summary>
    public required int MaxExpansion { get; init; }
    /// <summary>Stem, fixed first block and head (conv, pool, classifier), plus one run's overhead, in ms.</summary>
    public required double FixedMs { get; init; }
    /// <summary>Per unified block, in order.</summary>
    public required IReadOnlyList<LatencyLayerEntry> Layers { get; init; }
    /// <summary>An affine correction of the per-layer sum learned from measured networks, or null for none.</summary>
    public LatencyCorrection? Correction { get; init; }
    /// <summary>The machine the table was measured on.</summary>
    public required LatencyMachine Machine { get; init; }
    /// <summary>The runtime and settings the table was measured with.</summary>
    public required LatencyRuntimeInfo Runtime { get; init; }
    /// <summary>When the table was measured (UTC, ISO 8601).</summary>
    public required string CreatedUtc { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Serialises the table.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>
    /// The table's identity: the SHA-256 (lower-case hex) of <see cref="ToJson"/>. A generator trained against a table
    /// records it, so a generator is never asked for budgets of another machine's or runtime's table (docs/latency.md).
    /// </summary>
    public string Sha256() => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ToJson()))).ToLowerInvariant();

    /// <summary>Where and how the table was measured, in one line for messages.</summary>
    public string Origin => $"{Runtime.Name} {Runtime.Version}, {Runtime.Threads} thread(s), {Machine.Cpu}, {CreatedUtc}";

    /// <summary>Writes the table to <paramref name="path"/> atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, ToJson());

    /// <summary>Parses a table and checks its schema version and internal consistency.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where it came from, for error messages.</param>
    /// <exception cref="FormatException">Invalid JSON, another schema version, or inconsistent sizes.</exception>
    public static LatencyTable FromJson(string json, string source = "latency table")
    {
        LatencyTable? t;
        try { t = JsonSerializer.Deserialize<LatencyTable>(json, Json); }
        catch (JsonException e) { throw new FormatException($"{source}: invalid latency table JSON: {e.Message}", e); }
        if (t is null) throw new FormatException($"{source}: empty latency table JSON.");
        if (t.SchemaVersion != CurrentSchemaVersion)
            throw new FormatException($"{source}: latency table schema version {t.SchemaVersion}; this version reads {CurrentSchemaVersion}. Measure the table again with 'sgnas latency-table'.");
        t.CheckSizes(source);
        return t;
    }

    /// <summary>Reads a table from a file (see <see cref="FromJson"/>).</summary>
    public static LatencyTable Load(string path) => FromJson(File.ReadAllText(path), path);

    /// <summary>
    /// Checks that the table was measured for <paramref name="preset"/>: same name, layer count, per-layer shapes,
    /// kernels and expansion range. Throws <see cref="ArgumentException"/> naming the first mismatch.
    /// </summary>
    public void CheckMatches(SearchSpacePreset preset)
    {
        ArgumentNullException.ThrowIfNull(preset);
        void Fail(string what) => throw new ArgumentException(
            $"Latency table for preset '{Preset}' does not fit preset '{preset.Name}': {what}. Measure a table for this preset with 'sgnas latency-table --preset {preset.Name}'.");
        if (Preset != preset.Name) Fail("the preset names differ");
        if (!Kernels.SequenceEqual(preset.Kernels)) Fail($"kernels {string.Join(",", Kernels)} vs {string.Join(",", preset.Kernels)}");
        if (MinExpansion != preset.MinExpansion || MaxExpansion != preset.MaxExpansion)
            Fail($"expansion {MinExpansion}..{MaxExpansion} vs {preset.MinExpansion}..{preset.MaxExpansion}");
        var geo = preset.Geometry();
        if (Layers.Count != geo.Count) Fail($"{Layers.Count} layers vs {geo.Count}");
        for (int i = 0; i < geo.Count; i++)
        {
            var l = Layers[i]; var g = geo[i];
            if (l.InChannels != g.InChannels || l.OutChannels != g.OutChannels || l.Stride != g.Stride || l.InSize != g.InSize)
                Fail($"layer {i} is {l.InChannels}->{l.OutChannels} stride {l.Stride} at {l.InSize}px in the table, {g.InChannels}->{g.OutChannels} stride {g.Stride} at {g.InSize}px in the preset");
        }
    }

    private void CheckSizes(string source)
    {
        void Check(bool ok, string what) { if (!ok) throw new FormatException($"{source}: {what}"); }
        Check(!string.IsNullOrWhiteSpace(Preset), "preset is empty.");
        Check(Kernels is { Count: > 0 }, "kernels is empty.");
        Check(MinExpansion >= 1 && MinExpansion <= MaxExpansion, "need 1 <= minExpansion <= maxExpansion.");
        Check(double.IsFinite(FixedMs), "fixedMs is not a number.");
        Check(Layers is { Count: > 0 }, "layers is empty.");
        for (int i = 0; i < Layers.Count; i++)
        {
            var l = Layers[i];
            Check(l.DepthwiseMs is not null && l.DepthwiseMs.Count == Kernels.Count, $"layer {i}: depthwiseMs needs {Kernels.Count} values (one per kernel).");
            Check(l.PointwiseMs is not null && l.PointwiseMs.Count == MaxExpansion - MinExpansion + 1,
                $"layer {i}: pointwiseMs needs {MaxExpansion - MinExpansion + 1} values (expansion {MinExpansion}..{MaxExpansion}).");
            Check(l.DepthwiseMs!.Concat(l.PointwiseMs!).All(double.IsFinite), $"layer {i}: a latency is not a number.");
        }
        Check(Correction is null || (double.IsFinite(Correction.Intercept) && double.IsFinite(Correction.Slope) && Correction.Slope > 0),
            "correction needs a finite intercept and a positive slope.");
    }

    /// <summary>
    /// The table's sum for a discrete architecture in ms, without the correction: fixed + Σ_layers
    /// [PW_i(e_i) + Σ_{active sub-blocks} DW_i(k)]. The latency twin of Eq. 9 equals this for one-hot weights.
    /// </summary>
    public double SumMs(Architecture arch)
    {
        ArgumentNullException.ThrowIfNull(arch);
        if (arch.Layers.Count != Layers.Count)
            throw new ArgumentException($"Architecture has {arch.Layers.Count} layers; the latency table has {Layers.Count}.");
        double total = FixedMs;
        for (int i = 0; i < Layers.Count; i++)
        {
            var l = arch.Layers[i];
            if (l.Expansion < MinExpansion || l.Expansion > MaxExpansion)
                throw new ArgumentException($"Layer {i}: expansion rate {l.Expansion} is outside the table's {MinExpansion}..{MaxExpansion}.");
            total += Layers[i].PointwiseMs[l.Expansion - MinExpansion];
            foreach (int k in l.Kernels)
            {
                int idx = IndexOf(k);
                if (idx < 0) throw new ArgumentException($"Layer {i}: kernel {k} is not in the latency table ({string.Join(", ", Kernels)}).");
                total += Layers[i].DepthwiseMs[idx];
            }
        }
        return total;
    }

    /// <summary>The predicted latency in ms: <see cref="SumMs"/> with the correction applied when there is one.</summary>
    public double PredictMs(Architecture arch) => Correction is { } c ? c.Apply(SumMs(arch)) : SumMs(arch);

    private int IndexOf(int kernel)
    {
        for (int i = 0; i < Kernels.Count; i++) if (Kernels[i] == kernel) return i;
        return -1;
    }
}
