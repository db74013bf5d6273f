using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.SearchSpace;

namespace Sgnas.Search;

/// <summary>
/// An append-only record of scored candidates in a text file (one JSON object per line), so an interrupted search can
/// resume: a tuner driven with the same seed proposes the same architectures, and their scores are read back instead
/// of being measured again (<see cref="TunerSearchStrategy.Journal"/>). Each line is written and flushed as soon as a
/// candidate is scored; a torn last line (the process stopped mid-write) is ignored on reading.
/// </summary>
public sealed class CandidateJournal
{
    private readonly Dictionary<Architecture, CandidateResult> _results = new();
    private readonly SearchSpacePreset _preset;

    /// <summary>Opens (or starts) the journal at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">A complete line does not describe a candidate of <paramref name="preset"/>.</exception>
    public CandidateJournal(string path, SearchSpacePreset preset)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = path; _preset = preset ?? throw new ArgumentNullException(nameof(preset));
        if (!File.Exists(path)) return;
        var text = File.ReadAllText(path);
        var lines = text.Split('\n');
        // The last element is either empty (file ends with a newline) or a torn line: skip it either way.
        for (int i = 0; i < lines.Length - 1; i++)
        {
            if (lines[i].Length == 0) continue;
            try
            {
                var o = JsonNode.Parse(lines[i])!;
                var arch = ArchitectureCodec.Parse(o["architecture"]!.GetValue<string>(), preset).Canonical();
                _results[arch] = new CandidateResult(arch, o["flopsM"]!.GetValue<double>(), o["valTop1"]!.GetValue<double>(),
                    o["valLoss"]!.GetValue<double>(), o["seconds"]!.GetValue<double>());
            }
            catch (Exception e) when (e is JsonException or FormatException or NullReferenceException or InvalidOperationException or ArgumentException)
            {
                throw new InvalidDataException($"{path}, line {i + 1}: not a scored candidate of preset '{preset.Name}' ({e.Message}).", e);
            }
        }
    }

    /// <summary>The journal file.</summary>
    public string Path { get; }

    /// <summary>Number of recorded candidates.</summary>
    public int Count => _results.Count;

    /// <summary>All recorded candidates.</summary>
    public IReadOnlyCollection<CandidateResult> Results => _results.Values;

    /// <summary>The recorded result of <paramref name="arch"/> (canonicalised), if any.</summary>
    public bool TryGet(Architecture arch, out CandidateResult result) => _results.TryGetValue(arch.Canonical(), out result!);

    /// <summary>Records a result (appends one line and flushes it to disk).</summary>
    public void Append(CandidateResult r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var key = r.Architecture.Canonical();
        if (_results.ContainsKey(key)) return;
        _results[key] = r;
        var line = new JsonObject
        {
            ["architecture"] = key.ToString(),
            ["flopsM"] = r.FlopsM,
            ["valTop1"] = r.ValTop1,
            ["valLoss"] = r.ValLoss,
            ["seconds"] = r.Seconds,
        }.ToJsonString();
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        using var f = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        var bytes = System.Text.Encoding.UTF8.GetBytes(line + "\n");
        f.Write(bytes);
        f.Flush(flushToDisk: true);
    }
}
