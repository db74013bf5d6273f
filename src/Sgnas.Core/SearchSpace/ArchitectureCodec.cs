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

    /// <summary>
    /// Parses the text form (or the JSON form, when the text starts with <c>{</c>); with a preset, also validates it
    /// and returns the canonical architecture. Trailing <c>skip</c> entries after the active kernels are accepted
    /// (they are the inactive sub-blocks of forced sampling); a kernel after a skip is not.
    /// </summary>
    /// <exception cref="FormatException">The text is malformed; the message names the layer and what is expected.</exception>
    public static Architecture Parse(string text, SearchSpacePreset? preset = null)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new FormatException("Architecture text is empty; expected e<rate>:<k>,<k>,... per layer, joined by '|'.");
        if (text.TrimStart().StartsWith('{')) return FromJson(text, preset);
        var parts = text.Trim().Split('|');
        var layers = new List<LayerChoice>(parts.Length);
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i].Trim();
            int colon = p.IndexOf(':');
            if (colon < 0 || p.Length < 3 || (p[0] != 'e' && p[0] != 'E'))
                throw new FormatException($"Layer {i}: '{Short(p)}' is not of the form e<rate>:<k>,<k>,... (e.g. e3:3,5,7).");
            if (!int.TryParse(p.AsSpan(1, colon - 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int rate))
                throw new FormatException($"Layer {i}: expansion rate '{Short(p[1..colon])}' is not a whole number ≥ 1 (e<rate>: the number of active sub-blocks).");
            if (rate < 1)
                throw new FormatException($"Layer {i}: expansion rate {rate} must be at least 1 (the number of active sub-blocks).");
            var ks = p[(colon + 1)..].Split(',', StringSplitOptions.TrimEntries);
            var kernels = new List<int>();
            int skips = 0;
            foreach (var k in ks)
            {
                if (k.Equals("skip", StringComparison.OrdinalIgnoreCase)) { skips++; continue; }
                if (skips > 0)
                    throw new FormatException(
                        $"Layer {i}: skip inside the active prefix (kernel '{Short(k)}' follows it); the {rate} active kernels come first and skips may only follow them (forced sampling).");
                if (!int.TryParse(k, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int kv) || kv < 1)
                    throw new FormatException($"Layer {i}: kernel '{Short(k)}' is not a kernel size (a whole number such as 3, 5 or 7).");
                kernels.Add(kv);
            }
            if (kernels.Count != rate)
                throw new FormatException($"Layer {i}: expansion rate {rate} needs {rate} kernels before any skip, got {kernels.Count}.");
            layers.Add(new LayerChoice(kernels));
        }
        var arch = new Architecture(layers);
        if (preset == null) return arch;
        try { arch.Validate(preset); }
        catch (ArgumentException e) { throw new FormatException(e.Message, e); }
        return arch.Canonical();
    }

    /// <summary>At most 40 characters of user input for a message.</summary>
    private static string Short(string s) => s.Length <= 40 ? s : s[..40] + "…";

    /// <summary>JSON form: <c>{"layers":[[3,3,5,7],...]}</c>.</summary>
    public static string ToJson(Architecture a) =>
        JsonSerializer.Serialize(new { layers = a.Layers.Select(l => l.Kernels.ToArray()).ToArray() });

    /// <summary>Parses the JSON form <c>{"layers":[[3,3,5,7],[7,7],...]}</c>; with a preset, also validates and canonicalises.</summary>
    /// <exception cref="FormatException">Not that form; the message names the layer and what is expected.</exception>
    public static Architecture FromJson(string json, SearchSpacePreset? preset = null)
    {
        const string Expected = "expected {\"layers\":[[k,...],...]} with one array of kernel sizes per layer";
        JsonElement layers;
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("layers", out var l) || l.ValueKind != JsonValueKind.Array)
                throw new FormatException($"Architecture JSON: {Expected}.");
            layers = l.Clone();
        }
        catch (JsonException e)
        {
            throw new FormatException($"Architecture JSON is not valid JSON ({e.Message.Split('\n')[0]}); {Expected}.", e);
        }
        if (layers.GetArrayLength() == 0) throw new FormatException($"Architecture JSON has no layers; {Expected}.");
        var text = new List<string>();
        int i = 0;
        foreach (var layer in layers.EnumerateArray())
        {
            if (layer.ValueKind != JsonValueKind.Array)
                throw new FormatException($"Layer {i}: {Short(layer.GetRawText())} is not an array of kernel sizes; {Expected}.");
            var ks = new List<string>();
            foreach (var k in layer.EnumerateArray())
            {
                if (k.ValueKind == JsonValueKind.Number && k.TryGetInt32(out int v)) ks.Add(v.ToString(System.Globalization.CultureInfo.InvariantCulture));
                else if (k.ValueKind == JsonValueKind.String && string.Equals(k.GetString(), "skip", StringComparison.OrdinalIgnoreCase)) ks.Add("skip");
                else throw new FormatException($"Layer {i}: {Short(k.GetRawText())} is not a kernel size (a whole number such as 3, 5 or 7).");
            }
            text.Add($"e{ks.Count(k => k != "skip")}:{string.Join(",", ks)}");
            i++;
        }
        return Parse(string.Join("|", text), preset);
    }
}
