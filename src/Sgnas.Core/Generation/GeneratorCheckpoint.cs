using System.Text.Json;
using System.Text.Json.Serialization;
using Sgnas.Data;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Generation;

/// <summary>What a generator training checkpoint records besides the tensors (state.json).</summary>
/// <param name="FormatVersion">1.</param>
/// <param name="Epoch">Epochs completed.</param>
/// <param name="Options">The generator options of the run (a resume must use the same).</param>
/// <param name="Data">Fingerprint of the validation images the generator trains on.</param>
/// <param name="StepsPerEpoch">Steps per epoch (one target draw each).</param>
/// <param name="Temperature">Gumbel-softmax temperature of the last completed epoch.</param>
/// <param name="BestEpoch">The best epoch so far (its weights are best.pt).</param>
/// <param name="NoiseState">State of the Gumbel noise generator (base64).</param>
/// <param name="History">Metrics of the completed epochs.</param>
public sealed record GeneratorTrainingState(int FormatVersion, int Epoch, GeneratorOptions Options, DataFingerprint Data, int StepsPerEpoch,
    double Temperature, int BestEpoch, string NoiseState, List<GeneratorEpochMetrics> History)
{
    /// <summary>
    /// The constraint the generator trains for (<see cref="Cost.ConstraintCost.Identity"/>: "flops" or "latency:" and
    /// the table's SHA-256); null in checkpoints written before latency budgets, which were FLOPs.
    /// </summary>
    public string? Constraint { get; init; }
}

/// <summary>What <see cref="GeneratorCheckpoint.Restore"/> hands back to the training loop.</summary>
/// <param name="Epoch">Epochs completed; training continues with the next.</param>
/// <param name="Temperature">Temperature of the last completed epoch.</param>
/// <param name="Best">Weights of the best epoch (owned by the caller).</param>
public sealed record GeneratorResumePoint(int Epoch, double Temperature, Dictionary<string, Tensor> Best);

/// <summary>
/// Per-epoch checkpoint of generator training (stage 2) in <see cref="RunFolder.GeneratorTrainingDir"/>, saved as one
/// <see cref="CheckpointSet"/> named <c>generator-training</c>:
/// <code>
/// current.pt   generator weights after the last completed epoch
/// optim.pt     Adam state (moments and step counts)
/// best.pt      weights of the best epoch so far
/// state.json   GeneratorTrainingState: epoch, options, data fingerprint, temperature, best epoch, noise state, history
/// </code>
/// The target draws are replayed on resume (one per step) rather than stored, so that a resumed run continues with
/// exactly the targets, noise, batches and optimizer state of an uninterrupted one.
/// </summary>
public sealed class GeneratorCheckpoint
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };
    private const string Current = "current.pt", Optim = "optim.pt", BestFile = "best.pt", StateFile = "state.json";
    private readonly CheckpointSet _set;
    private readonly bool _resume;
    private object? _savedBest;
    private int _bestEpoch;

    /// <summary>The constraint identity of the training this checkpoint belongs to (set by the trainer; a resume
    /// must train for the same constraint).</summary>
    public string ConstraintIdentity { get; set; } = "flops";

    /// <summary>A checkpoint in <paramref name="directory"/>; with <paramref name="resume"/> an existing one is continued.</summary>
    public GeneratorCheckpoint(string directory, bool resume)
    {
        _set = new CheckpointSet(directory, "generator-training");
        _resume = resume;
    }

    /// <summary>The folder.</summary>
    public string Directory => _set.Directory;

    /// <summary>True if the folder holds a complete checkpoint (after completing or discarding an interrupted save).</summary>
    public bool Exists => System.IO.Directory.Exists(Directory) && _set.Recover() is not null;

    /// <summary>
    /// Loads the checkpoint into the training objects, or returns null when there is nothing to resume (no checkpoint,
    /// or <c>resume</c> off; then an existing checkpoint is refused).
    /// </summary>
    /// <exception cref="InvalidOperationException">A checkpoint exists but resume is off, or it was made with other options or data.</exception>
    /// <exception cref="InvalidDataException">A file of the checkpoint is missing or corrupt.</exception>
    public GeneratorResumePoint? Restore(ArchitectureGenerator generator, optim.Optimizer optimizer, torch.Generator noise,
        List<GeneratorEpochMetrics> history, GeneratorOptions options, ImageDataset data, int[] validation, int stepsPerEpoch)
    {
        if (!Exists) return null;
        if (!_resume)
            throw new InvalidOperationException($"{Directory} holds a generator training checkpoint; resume it or remove it first.");
        _set.Verify();
        string statePath = Path.Combine(Directory, StateFile);
        GeneratorTrainingState state;
        try
        {
            state = JsonSerializer.Deserialize<GeneratorTrainingState>(File.ReadAllText(statePath), Json)
                    ?? throw new InvalidDataException($"{statePath} is empty; expected a generator training state.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{statePath}: corrupt generator training state ({SupernetCheckpoint.OneLine(e.Message)}).", e);
        }
        if (state.Options is null || state.Data is null || state.History is null || state.NoiseState is null)
            throw new InvalidDataException($"{statePath}: fields options, data, history and noiseState are required.");
        if (JsonSerializer.Serialize(state.Options with { Epochs = 0 }, Json) != JsonSerializer.Serialize(options with { Epochs = 0 }, Json))
            throw new InvalidOperationException(
                $"{statePath} was trained with other generator options ({Diff(state.Options, options)}); resume with the same options.");
        if ((state.Constraint ?? "flops") != ConstraintIdentity)
            throw new InvalidOperationException(
                $"{statePath} was trained for the constraint '{state.Constraint ?? "flops"}', this training is for '{ConstraintIdentity}'; resume with the same constraint (and latency table), or remove {Directory}.");
        if (state.Epoch > options.Epochs)
            throw new InvalidOperationException($"{statePath} has {state.Epoch} epochs done; --epochs {options.Epochs} is fewer.");
        var fingerprint = DataFingerprint.Of(data.Subset(validation));
        if (fingerprint != state.Data || state.StepsPerEpoch != stepsPerEpoch)
            throw new InvalidOperationException(
                $"{statePath} was trained on other validation images ({state.Data.Count} images, SHA-256 {state.Data.Sha256[..Math.Min(12, state.Data.Sha256.Length)]}…; " +
                $"now {fingerprint.Count}, {fingerprint.Sha256[..12]}…). Resume with the same --data and --max-val-images.");

        using (no_grad())
        {
            AtomicFile.LoadModule(Path.Combine(Directory, BestFile), generator);
            var best = generator.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
            AtomicFile.LoadModule(Path.Combine(Directory, Current), generator);
            string optimPath = Path.Combine(Directory, Optim);
            try
            {
                using var fs = File.OpenRead(optimPath);
                using var r = new BinaryReader(fs);
                ((TorchSharp.Modules.OptimizerHelper)optimizer).load_state_dict(r);
            }
            catch (Exception e) when (e is EndOfStreamException or ArgumentException or IOException or InvalidCastException)
            {
                throw new InvalidDataException($"{optimPath}: not a readable Adam state for this generator ({e.Message}).", e);
            }
            using var noiseState = tensor(Convert.FromBase64String(state.NoiseState), ScalarType.Byte);
            noise.set_state(noiseState);
            history.Clear();
            history.AddRange(state.History);
            _savedBest = best;
            _bestEpoch = state.BestEpoch;
            return new GeneratorResumePoint(state.Epoch, state.Temperature, best);
        }
    }

    /// <summary>
    /// Saves the state after <paramref name="epoch"/> completed epochs; <paramref name="best"/> is the best epoch's
    /// weights (a new dictionary each time the best changes, which is when best.pt is rewritten).
    /// </summary>
    public void Save(int epoch, ArchitectureGenerator generator, optim.Optimizer optimizer, torch.Generator noise, List<GeneratorEpochMetrics> history,
        GeneratorOptions options, ImageDataset data, int[] validation, int stepsPerEpoch, double temperature,
        Dictionary<string, Tensor>? best)
    {
        byte[] current = AtomicFile.ModuleBytes(generator);
        bool bestChanged = best is not null && !ReferenceEquals(best, _savedBest);
        if (bestChanged) _bestEpoch = epoch;
        using var noiseState = noise.get_state();
        var state = new GeneratorTrainingState(1, epoch, options, DataFingerprint.Of(data.Subset(validation)), stepsPerEpoch, temperature,
            _bestEpoch, Convert.ToBase64String(noiseState.data<byte>().ToArray()), history.ToList()) { Constraint = ConstraintIdentity };
        var files = new List<CheckpointFile>
        {
            new(Current, current),
            new(Optim, AtomicFile.Bytes(s =>
            {
                using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
                ((TorchSharp.Modules.OptimizerHelper)optimizer).save_state_dict(w);
            })),
        };
        // The best dictionary is a clone of the generator's weights at the epoch it was taken, i.e. now when it changed.
        if (bestChanged) files.Add(new CheckpointFile(BestFile, current));
        files.Add(new CheckpointFile(StateFile, System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(state, Json))));
        _set.Commit($"epoch {epoch}", files, keep: bestChanged ? null : [BestFile]);
        _savedBest = best;
    }

    private static string Diff(GeneratorOptions a, GeneratorOptions b)
    {
        var ja = JsonSerializer.SerializeToNode(a, Json)!.AsObject();
        var jb = JsonSerializer.SerializeToNode(b, Json)!.AsObject();
        return string.Join(", ", ja.Where(kv => kv.Key != "epochs" && kv.Value?.ToJsonString() != jb[kv.Key]?.ToJsonString())
            .Select(kv => $"{kv.Key} {kv.Value?.ToJsonString() ?? "null"} then, {jb[kv.Key]?.ToJsonString() ?? "null"} now"));
    }
}
