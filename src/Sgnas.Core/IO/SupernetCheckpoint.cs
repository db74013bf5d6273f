using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.IO;

/// <summary>Metadata saved next to supernet weights.</summary>
public sealed record SupernetCheckpointInfo
{
    /// <summary>Format version of this metadata.</summary>
    public int FormatVersion { get; init; } = 1;
    /// <summary>The whole preset, so a run folder is self-describing even for user presets.</summary>
    public required JsonNode Preset { get; init; }
    /// <summary>Epochs completed.</summary>
    public int Epoch { get; init; }
    /// <summary>Epochs planned (for the cosine schedule on resume).</summary>
    public int Epochs { get; init; }
    /// <summary>Training options as given, for resume and provenance.</summary>
    public JsonNode? Options { get; init; }
    /// <summary>Seeds and sampler state needed to resume deterministically.</summary>
    public JsonNode? State { get; init; }
    /// <summary>Per-epoch metrics so far.</summary>
    public JsonArray? History { get; init; }
}

/// <summary>Saves and loads a supernet (weights + JSON metadata) in a <see cref="RunFolder"/>; writes are atomic.</summary>
public static class SupernetCheckpoint
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>Writes weights first, metadata last: metadata present means the weights beside it are complete.</summary>
    public static void Save(RunFolder run, Supernet net, SupernetCheckpointInfo info)
    {
        AtomicFile.SaveModule(run.SupernetWeights, net);
        AtomicFile.WriteAllText(run.SupernetMeta, JsonSerializer.Serialize(info, Json));
    }

    /// <summary>Reads the metadata; clear errors for a missing or corrupt file.</summary>
    public static SupernetCheckpointInfo ReadInfo(RunFolder run)
    {
        run.RequireSupernet();
        try
        {
            return JsonSerializer.Deserialize<SupernetCheckpointInfo>(File.ReadAllText(run.SupernetMeta), Json)
                   ?? throw new InvalidDataException($"{run.SupernetMeta} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{run.SupernetMeta}: corrupt supernet metadata ({e.Message}).", e);
        }
    }

    /// <summary>The preset stored in the checkpoint.</summary>
    public static SearchSpacePreset ReadPreset(RunFolder run) =>
        SearchSpacePreset.FromJson(ReadInfo(run).Preset.ToJsonString(), run.SupernetMeta);

    /// <summary>Loads the supernet onto <paramref name="device"/> in eval mode.</summary>
    public static (Supernet Net, SupernetCheckpointInfo Info) Load(RunFolder run, Device device)
    {
        var info = ReadInfo(run);
        var preset = SearchSpacePreset.FromJson(info.Preset.ToJsonString(), run.SupernetMeta);
        var net = new Supernet(preset);
        AtomicFile.LoadModule(run.SupernetWeights, net);
        net.to(device);
        net.eval();
        return (net, info);
    }

    /// <summary>The preset as a JSON node for <see cref="SupernetCheckpointInfo.Preset"/>.</summary>
    public static JsonNode PresetNode(SearchSpacePreset p) => JsonNode.Parse(p.ToJson())!;
}
