using System.Text.Json.Serialization;

namespace Sgnas.Training;

/// <summary>
/// Options of <see cref="SupernetTrainer"/>. The defaults here are the only place they are stated (the CLI reads
/// them from a default instance). Marked "paper" where they come from SGNAS section 4 / docs/design.md §5.
/// </summary>
public sealed record SupernetTrainerOptions
{
    /// <summary>Epochs over the training part (paper: 50 on ImageNet; fewer suit the small presets).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Images per mini-batch (paper: 256; 128 keeps a CPU step short).</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Initial learning rate, decayed per step by <see cref="CosineSchedule"/> over all epochs (paper: 0.045).</summary>
    public double LearningRate { get; init; } = 0.045;

    /// <summary>SGD momentum (paper: 0.9).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>SGD weight decay, L2 on every parameter (paper: 4e-5).</summary>
    public double WeightDecay { get; init; } = 4e-5;

    /// <summary>Label smoothing of the cross-entropy, in [0, 1) (0: plain cross-entropy).</summary>
    public double LabelSmoothing { get; init; } = 0.0;

    /// <summary>Share of the training images held out for validation, in (0, 1), stratified by class.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Seed of weight init, split, subset, batch order, path sampler and validation architectures.</summary>
    public int Seed { get; init; } = 0;

    /// <summary>Strict fairness (reference implementation) or uniform path sampling.</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<PathSampling>))]
    public PathSampling Sampling { get; init; } = PathSampling.Fair;

    /// <summary>Single-path passes accumulated per optimizer step (K; strict fairness needs one per kernel option).</summary>
    public int PathsPerStep { get; init; } = 3;

    /// <summary>
    /// Use at most this many images of the data set (a seeded random subset, drawn before the validation split, so
    /// both parts shrink); null uses all. For fast runs.
    /// </summary>
    public int? MaxTrainImages { get; init; }

    /// <summary>Random crop (padding 4) and horizontal flip of training batches; off by default for the supernet.</summary>
    public bool Augment { get; init; } = false;

    /// <summary>
    /// Number of seeded random canonical architectures the supernet is validated with after each epoch; the
    /// reported validation loss and top-1 are their means. The set is fixed for the whole run (stored in the
    /// checkpoint), so epochs are comparable.
    /// </summary>
    public int ValidationArchitectures { get; init; } = 4;

    /// <summary>Weight initialisation before training (default: TorchSharp's; <see cref="Modules.WeightInitKind.Reference"/>: the reference code's).</summary>
    [JsonConverter(typeof(JsonStringEnumConverter<Modules.WeightInitKind>))]
    public Modules.WeightInitKind Init { get; init; } = Modules.WeightInitKind.Default;

    /// <summary>
    /// The SGNAS reference code's supernet recipe (github.com/eric8607242/SGNAS; docs/generator.md section 3): K = 4
    /// paths per step, label smoothing 0.1, lr 0.064, weight decay 4e-4, the reference initialisation. Other options
    /// as the defaults (the paper's text: lr 0.045, weight decay 4e-5).
    /// </summary>
    public static SupernetTrainerOptions Reference { get; } = new()
    {
        PathsPerStep = 4, LabelSmoothing = 0.1, LearningRate = 0.064, WeightDecay = 4e-4, Init = Modules.WeightInitKind.Reference,
    };

    /// <summary>Device: cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";

    /// <summary>
    /// Where the training data came from (null: the default Fashion-MNIST), recorded in the checkpoint so later stages
    /// load the same data; provenance only, the trainer is given the images.
    /// </summary>
    public string? DataPath { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"{name} {rule}; got {value}.");
        }
        Check(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        Check(BatchSize >= 2, nameof(BatchSize), BatchSize, "must be at least 2 (batch norm needs more than one image)");
        Check(LearningRate > 0 && double.IsFinite(LearningRate), nameof(LearningRate), LearningRate, "must be positive");
        Check(Momentum >= 0 && Momentum < 1, nameof(Momentum), Momentum, "must lie in [0, 1)");
        Check(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), WeightDecay, "must be ≥ 0");
        Check(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), LabelSmoothing, "must lie in [0, 1)");
        Check(ValidationFraction > 0 && ValidationFraction < 1, nameof(ValidationFraction), ValidationFraction, "must lie in (0, 1)");
        Check(PathsPerStep >= 1, nameof(PathsPerStep), PathsPerStep, "must be at least 1");
        Check(MaxTrainImages is null or >= 2, nameof(MaxTrainImages), MaxTrainImages!, "must be at least 2 when given");
        Check(ValidationArchitectures >= 1, nameof(ValidationArchitectures), ValidationArchitectures, "must be at least 1");
        if (string.IsNullOrWhiteSpace(Device)) throw new ArgumentException("Device is empty; use cpu, cuda or cuda:N.", nameof(Device));
    }
}
