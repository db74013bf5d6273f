using System.Security.Cryptography;
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
    /// <summary>SHA-256 (hex) of supernet.pt as written with this metadata; null when not recorded.</summary>
    public string? WeightsSha256 { get; init; }
    /// <summary>SHA-256 (hex) of supernet.optim.pt as written with this metadata; null when no optimizer state was saved.</summary>
    public string? OptimizerSha256 { get; init; }
}

/// <summary>
/// Saves and loads a supernet (weights + JSON metadata, optionally optimizer state) in a <see cref="RunFolder"/>.
/// <para>Format (version 1):</para>
/// <list type="bullet">
/// <item><c>supernet.pt</c>: TorchSharp state dict of <see cref="Supernet"/> (parameters and BN buffers; keys are the
/// module field names).</item>
/// <item><c>supernet.optim.pt</c> (training runs only): TorchSharp optimizer state (<c>OptimizerHelper.save_state_dict</c>:
/// optimizer type name, per-group options, per-parameter momentum buffers in <c>parameters()</c> order).</item>
/// <item><c>supernet.json</c>: <see cref="SupernetCheckpointInfo"/> in camelCase: formatVersion, preset (whole preset),
/// epoch (completed), epochs (planned), options (trainer options), state (sampler seed and steps, validation
/// architectures, steps per epoch, data fingerprint), history (per-epoch metrics), weightsSha256, optimizerSha256.</item>
/// </list>
/// Every file is written atomically and the metadata last, with the SHA-256 of the files it describes: a reader that
/// finds the hashes matching knows the three files belong to the same epoch.
/// </summary>
public static class SupernetCheckpoint
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>Writes weights first, metadata last: metadata present means the weights beside it are complete.</summary>
    public static void Save(RunFolder run, Supernet net, SupernetCheckpointInfo info)
    {
        AtomicFile.SaveModule(run.SupernetWeights, net);
        AtomicFile.WriteAllText(run.SupernetMeta, JsonSerializer.Serialize(info, Json));
    }

    /// <summary>
    /// Writes weights, optimizer state and metadata (last), recording the SHA-256 of the first two in the metadata.
    /// </summary>
    public static void Save(RunFolder run, Supernet net, torch.optim.Optimizer optimizer, SupernetCheckpointInfo info)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer is not TorchSharp.Modules.OptimizerHelper helper)
            throw new ArgumentException($"optimizer {optimizer.GetType().Name} cannot save its state (not a managed TorchSharp optimizer).", nameof(optimizer));
        AtomicFile.SaveModule(run.SupernetWeights, net);
        AtomicFile.Write(run.SupernetOptimizer, s =>
        {
            using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            helper.save_state_dict(w);
            w.Flush();
        });
        var full = info with { WeightsSha256 = Sha256(run.SupernetWeights), OptimizerSha256 = Sha256(run.SupernetOptimizer) };
        AtomicFile.WriteAllText(run.SupernetMeta, JsonSerializer.Serialize(full, Json));
    }

    /// <summary>
    /// Loads the optimizer state saved by <see cref="Save(RunFolder, Supernet, torch.optim.Optimizer, SupernetCheckpointInfo)"/>
    /// into <paramref name="optimizer"/> (built over the same parameters) and moves it to <paramref name="device"/>.
    /// </summary>
    /// <exception cref="FileNotFoundException">No optimizer state in the folder.</exception>
    /// <exception cref="InvalidDataException">The file does not match the metadata or is not a state of this optimizer.</exception>
    public static void LoadOptimizer(RunFolder run, SupernetCheckpointInfo info, torch.optim.Optimizer optimizer, Device device)
    {
        if (!File.Exists(run.SupernetOptimizer))
            throw new FileNotFoundException($"Optimizer state not found: {run.SupernetOptimizer}; the checkpoint cannot be resumed.", run.SupernetOptimizer);
        if (optimizer is not TorchSharp.Modules.OptimizerHelper helper)
            throw new ArgumentException($"optimizer {optimizer.GetType().Name} cannot load state (not a managed TorchSharp optimizer).", nameof(optimizer));
        VerifyHash(run.SupernetOptimizer, info.OptimizerSha256, run.SupernetMeta);
        try
        {
            using var fs = File.OpenRead(run.SupernetOptimizer);
            using var r = new BinaryReader(fs);
            helper.load_state_dict(r);
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or InvalidDataException or IOException or FormatException)
        {
            throw new InvalidDataException($"{run.SupernetOptimizer}: not a readable optimizer state for this supernet ({e.Message}).", e);
        }
        // Loaded buffers are created on the CPU; OptimizerHelper.to does not reassign them, so move them here.
        foreach (var st in helper.state_dict().State)
            if (st is TorchSharp.Modules.SGD.State sgd && sgd.momentum_buffer is not null && sgd.momentum_buffer.device != device)
            {
                var moved = sgd.momentum_buffer.to(device).DetachFromDisposeScope();
                sgd.momentum_buffer.Dispose();
                sgd.momentum_buffer = moved;
            }
    }

    /// <summary>Hex SHA-256 of a file.</summary>
    public static string Sha256(string path)
    {
        using var fs = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(fs));
    }

    private static void VerifyHash(string path, string? expected, string metaPath)
    {
        if (expected is null) return;
        string actual = Sha256(path);
        if (!string.Equals(actual, expected, StringComparison.OrdinalIgnoreCase))
            throw new InvalidDataException(
                $"{path} does not match {metaPath} (SHA-256 {actual[..12]}…, metadata records {expected[..Math.Min(12, expected.Length)]}…): " +
                "the file was modified or a save was interrupted. Restore the run folder or train again.");
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
        VerifyHash(run.SupernetWeights, info.WeightsSha256, run.SupernetMeta);
        var net = new Supernet(preset);
        AtomicFile.LoadModule(run.SupernetWeights, net);
        net.to(device);
        net.eval();
        return (net, info);
    }

    /// <summary>The preset as a JSON node for <see cref="SupernetCheckpointInfo.Preset"/>.</summary>
    public static JsonNode PresetNode(SearchSpacePreset p) => JsonNode.Parse(p.ToJson())!;
}
