using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sgnas.IO;

namespace Sgnas.Cost;

/// <summary>
/// Which kind of budget a run folder's generator was trained for (docs/latency.md), kept in
/// <c>constraint.json</c> beside <c>generator.json</c>; for latency, the table it was trained against is copied to
/// <c>latency.json</c> in the folder and identified by its SHA-256. A folder without the file is a FLOPs folder
/// (every folder written before latency budgets existed).
/// </summary>
public sealed record RunConstraint
{
    /// <summary>File name in the run folder.</summary>
    public const string FileName = "constraint.json";
    /// <summary>File name of the copied latency table.</summary>
    public const string LatencyTableFileName = "latency.json";

    /// <summary>"flops" or "latency".</summary>
    public required string Kind { get; init; }
    /// <summary>"M" or "ms".</summary>
    public required string Unit { get; init; }
    /// <summary>SHA-256 of <c>latency.json</c> (latency only).</summary>
    public string? LatencyTableSha256 { get; init; }
    /// <summary>Where the latency table was measured, for messages (latency only).</summary>
    public string? LatencyTableOrigin { get; init; }

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The parsed kind.</summary>
    [JsonIgnore] public ConstraintKind ParsedKind => ConstraintKinds.Parse(Kind);

    /// <summary>Records <paramref name="kind"/> in <paramref name="runDir"/> (and copies the latency table there).</summary>
    /// <exception cref="ArgumentException">Latency without a table.</exception>
    public static RunConstraint Write(string runDir, ConstraintKind kind, LatencyTable? table = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runDir);
        Directory.CreateDirectory(runDir);
        RunConstraint record;
        if (kind == ConstraintKind.Latency)
        {
            if (table is null) throw new ArgumentException("A latency run folder needs the latency table its generator is trained against.");
            string json = table.ToJson();
            AtomicFile.WriteAllText(Path.Combine(runDir, LatencyTableFileName), json);
            record = new RunConstraint
            {
                Kind = ConstraintKinds.Name(kind), Unit = ConstraintKinds.Unit(kind), LatencyTableSha256 = Sha256(json),
                LatencyTableOrigin = table.Origin,
            };
        }
        else
        {
            record = new RunConstraint { Kind = ConstraintKinds.Name(kind), Unit = ConstraintKinds.Unit(kind) };
        }
        AtomicFile.WriteAllText(Path.Combine(runDir, FileName), JsonSerializer.Serialize(record, Json));
        return record;
    }

    /// <summary>The record of <paramref name="runDir"/>; a FLOPs record when the folder has none.</summary>
    /// <exception cref="FormatException">The file is not valid.</exception>
    public static RunConstraint Read(string runDir)
    {
        string path = Path.Combine(runDir, FileName);
        if (!File.Exists(path)) return new RunConstraint { Kind = "flops", Unit = "M" };
        RunConstraint? r;
        try { r = JsonSerializer.Deserialize<RunConstraint>(File.ReadAllText(path), Json); }
        catch (JsonException e) { throw new FormatException($"{path}: invalid JSON: {e.Message}", e); }
        if (r is null) throw new FormatException($"{path}: empty.");
        try { _ = r.ParsedKind; } catch (FormatException e) { throw new FormatException($"{path}: {e.Message}", e); }
        return r;
    }

    /// <summary>
    /// Throws unless the folder's generator was trained for <paramref name="requested"/> budgets, with a message
    /// that names both kinds and what to do; for latency, also checks that <c>latency.json</c> is the table the
    /// generator was trained against, and returns it.
    /// </summary>
    /// <exception cref="InvalidOperationException">The other kind, or a changed latency table.</exception>
    public static LatencyTable? Require(string runDir, ConstraintKind requested)
    {
        var r = Read(runDir);
        var have = r.ParsedKind;
        if (have != requested)
            throw new InvalidOperationException(have == ConstraintKind.Latency
                ? $"The generator in {runDir} was trained for latency budgets (ms; table measured with {r.LatencyTableOrigin}); it cannot answer a FLOPs budget. Ask for milliseconds (--budget-ms), or train a generator for FLOPs in another run folder."
                : $"The generator in {runDir} was trained for FLOPs budgets (M); it cannot answer a latency budget. Ask for FLOPs (--flops), or train a generator for latency (--budget-ms with a latency table) in another run folder.");
        if (have != ConstraintKind.Latency) return null;
        string tablePath = Path.Combine(runDir, LatencyTableFileName);
        if (!File.Exists(tablePath)) throw new InvalidOperationException($"{runDir} is a latency run folder but {LatencyTableFileName} is missing.");
        string json = File.ReadAllText(tablePath);
        if (r.LatencyTableSha256 is { } expected && !string.Equals(expected, Sha256(json), StringComparison.OrdinalIgnoreCase))
            throw new InvalidOperationException($"{tablePath} is not the latency table the generator in {runDir} was trained against (SHA-256 differs).");
        return LatencyTable.FromJson(json, tablePath);
    }

    private static string Sha256(string text) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text))).ToLowerInvariant();
}
