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
/// <item><c>supernet.manifest.json</c>: the <see cref="CheckpointManifest"/> of the set (SHA-256 of each file above).</item>
/// </list>
/// The files are saved as one <see cref="CheckpointSet"/>: a crash at any moment leaves either the previous or the new
/// checkpoint complete, and a reader never sees files of two different epochs.
/// </summary>
public static class SupernetCheckpoint
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    /// <summary>The checkpoint set of a run's supernet: supernet.pt, supernet.json and (training runs) supernet.optim.pt.</summary>
    public static CheckpointSet Set(RunFolder run) => new(run.Root, "supernet");

    /// <summary>
    /// Saves weights and metadata as one checkpoint (<see cref="CheckpointSet"/>): either the previous checkpoint or
    /// this one is complete at every moment.
    /// </summary>
    public static void Save(RunFolder run, Supernet net, SupernetCheckpointInfo info)
    {
        byte[] weights = AtomicFile.ModuleBytes(net);
        var full = info with { WeightsSha256 = Sha256(weights), OptimizerSha256 = null };
        Set(run).Commit($"epoch {info.Epoch}", [
            new CheckpointFile(Path.GetFileName(run.SupernetWeights), weights),
            new CheckpointFile(Path.GetFileName(run.SupernetMeta), Meta(full)),
        ]);
        // An optimizer state of an earlier save no longer belongs to these weights.
        if (File.Exists(run.SupernetOptimizer)) File.Delete(run.SupernetOptimizer);
    }

    /// <summary>
    /// Saves weights, optimizer state and metadata as one checkpoint (<see cref="CheckpointSet"/>), recording the
    /// SHA-256 of the first two in the metadata as well.
    /// </summary>
    public static void Save(RunFolder run, Supernet net, torch.optim.Optimizer optimizer, SupernetCheckpointInfo info)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        if (optimizer is not TorchSharp.Modules.OptimizerHelper helper)
            throw new ArgumentException($"optimizer {optimizer.GetType().Name} cannot save its state (not a managed TorchSharp optimizer).", nameof(optimizer));
        byte[] weights = AtomicFile.ModuleBytes(net);
        byte[] optim = AtomicFile.Bytes(s =>
        {
            using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            helper.save_state_dict(w);
            w.Flush();
        });
        var full = info with { WeightsSha256 = Sha256(weights), OptimizerSha256 = Sha256(optim) };
        Set(run).Commit($"epoch {info.Epoch}", [
            new CheckpointFile(Path.GetFileName(run.SupernetWeights), weights),
            new CheckpointFile(Path.GetFileName(run.SupernetOptimizer), optim),
            new CheckpointFile(Path.GetFileName(run.SupernetMeta), Meta(full)),
        ]);
    }

    private static byte[] Meta(SupernetCheckpointInfo info) => System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(info, Json));

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

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
    /// <remarks>
    /// Completes or discards an interrupted save first and checks every file of the checkpoint against its manifest,
    /// so the metadata returned always belongs to the weights beside it.
    /// </remarks>
    public static SupernetCheckpointInfo ReadInfo(RunFolder run)
    {
        run.RequireSupernet();
        Set(run).Verify();
        SupernetCheckpointInfo? info;
        try
        {
            info = JsonSerializer.Deserialize<SupernetCheckpointInfo>(File.ReadAllText(run.SupernetMeta), Json);
        }
        catch (JsonException e)
        {
            // The whole message on one line: the CLI prints only the first line of an error.
            throw new InvalidDataException($"{run.SupernetMeta}: corrupt supernet metadata, expected the JSON written by train-supernet " +
                                           $"({OneLine(e.Message)}).", e);
        }
        if (info is null) throw new InvalidDataException($"{run.SupernetMeta} is empty (JSON null); expected supernet metadata.");
        if (info.Preset is null)
            throw new InvalidDataException($"{run.SupernetMeta}: field 'preset' is missing; expected the search space preset the supernet was trained with.");
        return info;
    }

    /// <summary>Joins the lines of an exception message into one.</summary>
    internal static string OneLine(string message) =>
        string.Join(" ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

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
