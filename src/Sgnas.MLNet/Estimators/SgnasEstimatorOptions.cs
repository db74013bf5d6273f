using Sgnas.MLNet.Pipeline;
using Sgnas.Training;

namespace Sgnas.MLNet;

/// <summary>
/// Options every Sgnas estimator shares: columns, search space, run folder, device, seed, progress. An estimator
/// never writes into these options: each <c>Fit</c> works on a resolved copy (run folder and seed filled in), so one
/// options object and one estimator can be fitted again and again (e.g. by <c>CrossValidate</c>).
/// </summary>
public abstract class SgnasEstimatorOptions
{
    /// <summary>Key-typed label column (one key per class).</summary>
    public string LabelColumnName { get; set; } = "Label";
    /// <summary>Known-size Single vector of raw pixels (C·H·W, CHW order, values 0..255), as the Sgnas loaders produce.</summary>
    public string FeatureColumnName { get; set; } = "Features";
    /// <summary>Search-space preset: imagenet, cifar, fashion-small, mobilenetv2, or the path of a preset JSON.</summary>
    public string Preset { get; set; } = "fashion-small";
    /// <summary>
    /// Folder for checkpoints, reports and the ONNX model. Null: every Fit creates a fresh
    /// <c>sgnas-runs/&lt;UTC time&gt;-&lt;id&gt;</c> under the current directory. Set: Fit uses it when it is empty or
    /// missing, or when the estimator is asked to continue it (<c>Resume</c>, <c>ReuseCompletedStages</c>); a folder
    /// that already holds a run is left alone and Fit writes into the first free sibling <c>&lt;folder&gt;-2</c>,
    /// <c>-3</c>, ... (logged, and named by the fitted model's <c>Run</c>).
    /// </summary>
    public string? RunFolder { get; set; }
    /// <summary>Torch device: cpu, cuda or cuda:N.</summary>
    public string Device { get; set; } = "cpu";
    /// <summary>
    /// Seed of every random choice (splits, sampling, initialisation); null takes the seed of the MLContext whose
    /// catalog created the estimator, else 0.
    /// </summary>
    public int? Seed { get; set; }
    /// <summary>Use at most this many training images (a seeded subset); null uses all.</summary>
    public int? MaxTrainImages { get; set; }
    /// <summary>
    /// Receives progress of the long stages (epochs, steps, loss, accuracy). Epoch summaries also go to the
    /// MLContext's <c>Log</c> when the estimator came from a catalog.
    /// </summary>
    public IProgress<TrainingProgress>? Progress { get; set; }
    /// <summary>Cancels between training steps; the last checkpoint in the run folder stays usable.</summary>
    public CancellationToken CancellationToken { get; set; }

    /// <summary>The seed after resolution (resolved copies always have one).</summary>
    internal int SeedValue => Seed ?? 0;

    /// <summary>
    /// A copy of these options for one Fit: the run folder resolved (see <see cref="RunFolder"/>), the seed filled in
    /// from the context, progress also forwarded to the context's log. The caller's object is not touched.
    /// </summary>
    internal T ResolveForFit<T>(SgnasHost host, bool continueRun, string stage) where T : SgnasEstimatorOptions
    {
        var copy = (T)MemberwiseClone();
        copy.RunFolder = RunFolders.Resolve(RunFolder, continueRun, host, stage);
        copy.Seed = Seed ?? host.Seed ?? 0;
        copy.Progress = host.WrapProgress(Progress, stage);
        return copy;
    }
}
