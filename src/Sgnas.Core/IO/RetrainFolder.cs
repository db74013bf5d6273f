namespace Sgnas.IO;

/// <summary>
/// Layout of a retraining output folder (stage 3; <see cref="RunFolder.RetrainDir"/> in a run folder):
/// <code>
/// DIR/last.pt          weights after the last completed epoch
/// DIR/last.optim.pt    optimizer state (momentum and squared-gradient averages) beside last.pt
/// DIR/best.pt          weights of the epoch with the best validation top-1
/// DIR/state.json       epoch, learning rate, best validation, history, architecture, options, preset, normalisation
/// DIR/metrics.json     final test metrics of best.pt
/// DIR/retrain.manifest.json  SHA-256 of last.pt, last.optim.pt, best.pt and state.json
/// </code>
/// The checkpoint files (all but metrics.json) are saved as one <see cref="CheckpointSet"/> named <c>retrain</c>: a
/// crash at any moment leaves either the previous epoch's checkpoint or the new one complete, never a mix.
/// </summary>
public sealed class RetrainFolder
{
    /// <summary>Wraps <paramref name="root"/> (created on first write).</summary>
    public RetrainFolder(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    /// <summary>The folder.</summary>
    public string Root { get; }
    /// <summary>Weights after the last completed epoch.</summary>
    public string LastWeights => Path.Combine(Root, "last.pt");
    /// <summary>Optimizer state after the last completed epoch.</summary>
    public string LastOptimizer => Path.Combine(Root, "last.optim.pt");
    /// <summary>Weights of the best epoch by validation top-1.</summary>
    public string BestWeights => Path.Combine(Root, "best.pt");
    /// <summary>Training state (JSON).</summary>
    public string State => Path.Combine(Root, "state.json");
    /// <summary>Final metrics (JSON).</summary>
    public string Metrics => Path.Combine(Root, "metrics.json");

    /// <summary>The checkpoint set (last.pt, last.optim.pt, best.pt, state.json).</summary>
    public CheckpointSet Set => new(Root, "retrain");

    /// <summary>True if a checkpoint (state.json) is present, after completing or discarding an interrupted save.</summary>
    public bool HasCheckpoint
    {
        get
        {
            if (Directory.Exists(Set.StagingPath)) Set.Recover();
            return File.Exists(State);
        }
    }
}
