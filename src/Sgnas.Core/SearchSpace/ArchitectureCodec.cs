using System.Text.Json;

namespace Sgnas.SearchSpace;

/// <summary>
/// Text and JSON forms of an <see cref="Architecture"/>.
/// Text: layers separated by <c>|</c>, each <c>e{rate}:{k},{k},...</c> with one kernel per active sub-block,
/// for example <c>e4:3,3,5,7|e2:7,7</c>. JSON: <c>{"layers":[[3,3,5,7],[7,7]]}</c>.
/// Parsing checks the text's own form; <see cref="Architecture.Validate"/> checks it against a preset.
/// </summary>
public static class ArchitectureCodec
{
    /// <summary>Text form of an architecture.</summary>
    public static string ToText(Architecture a) => string.Join("|", a.Layers.Select(l => l.ToString()));

    /// <summary>Parses the text form; with a preset, also validates it and returns the canonical architecture.</summary>
    /// <exception cref="FormatException">The text is malformed; the message names the layer.</exception>
    public static Architecture Parse(string text, SearchSpacePreset? preset = null)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new FormatException("Architecture text is empty.");
        var parts = text.Trim().Split('|');
        var layers = new List<LayerChoice>(parts.Length);
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i].Trim();
            int colon = p.IndexOf(':');
            if (colon < 0 || p.Length < 3 || (p[0] != 'e' && p[0] != 'E'))
                throw new FormatException($"Layer {i}: '{p}' is not of the form e<rate>:<k>,<k>,...");
            if (!int.TryParse(p.AsSpan(1, colon - 1), out int rate))
                throw new FormatException($"Layer {i}: expansion rate '{p[1..colon]}' is not a number.");
            var ks = p[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries);
            var kernels = new List<int>();
            foreach (var k in ks)
            {
                if (k.Equals("skip", StringComparison.OrdinalIgnoreCase))
                    throw new FormatException($"Layer {i}: skip inside the active prefix; list only the {rate} active kernels (forced sampling).");
                if (!int.TryParse(k, out int kv)) throw new FormatException($"Layer {i}: kernel '{k}' is not a number.");
                kernels.Add(kv);
            }
            if (kernels.Count != rate)
                throw new FormatException($"Layer {i}: expansion rate {rate} needs {rate} kernels, got {kernels.Count}.");
            layers.Add(new LayerChoice(kernels));
        }
        var arch = new Architecture(layers);
        if (preset == null) return arch;
        try { arch.Validate(preset); }
        catch (ArgumentException e) { throw new FormatException(e.Message, e); }
        return arch.Canonical();
    }

    /// <summary>JSON form: <c>{"layers":[[3,3,5,7],...]}</c>.</summary>
    public static string ToJson(Architecture a) =>
        JsonSerializer.Serialize(new { layers = a.Layers.Select(l => l.Kernels.ToArray()).ToArray() });

    /// <summary>Parses the JSON form; with a preset, also validates and canonicalises.</summary>
    public static Architecture FromJson(string json, SearchSpacePreset? preset = null)
    {
        int[][]? layers;
        try
        {
            using var doc = JsonDocument.Parse(json);
            layers = doc.RootElement.GetProperty("layers").Deserialize<int[][]>();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new FormatException($"Architecture JSON must be {{\"layers\":[[k,...],...]}}: {e.Message}", e);
        }
        if (layers == null) throw new FormatException("Architecture JSON has no layers.");
        return Parse(string.Join("|", layers.Select(l => $"e{l.Length}:{string.Join(",", l)}")), preset);
    }
}
