using Sgnas.Training;

namespace Sgnas.MLNet;

/// <summary>Options every Sgnas estimator shares: columns, search space, run folder, device, seed, progress.</summary>
public abstract class SgnasEstimatorOptions
{
    /// <summary>Key-typed label column (one key per class).</summary>
    public string LabelColumnName { get; set; } = "Label";
    /// <summary>Known-size Single vector of raw pixels (C·H·W, CHW order, values 0..255), as the Sgnas loaders produce.</summary>
    public string FeatureColumnName { get; set; } = "Features";
    /// <summary>Search-space preset: imagenet, cifar, fashion-small, mobilenetv2, or the path of a preset JSON.</summary>
    public string Preset { get; set; } = "fashion-small";
    /// <summary>Folder for checkpoints, reports and the ONNX model; null creates <c>sgnas-runs/&lt;UTC time&gt;</c>.</summary>
    public string? RunFolder { get; set; }
    /// <summary>Torch device: cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>Seed of every random choice (splits, sampling, initialisation).</summary>
    public int Seed { get; set; }
    /// <summary>Use at most this many training images (a seeded subset); null uses all.</summary>
    public int? MaxTrainImages { get; set; }
    /// <summary>Receives progress of the long stages (epochs, steps, loss, accuracy).</summary>
    public IProgress<TrainingProgress>? Progress { get; set; }
    /// <summary>Cancels between training steps; the last checkpoint in the run folder stays usable.</summary>
    public CancellationToken CancellationToken { get; set; }

    internal string ResolveRunFolder()
    {
        RunFolder ??= Path.Combine(Environment.CurrentDirectory, "sgnas-runs", DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
        return Path.GetFullPath(RunFolder);
    }
}
