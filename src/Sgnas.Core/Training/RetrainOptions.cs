using System.Text.Json.Serialization;
using Sgnas.Modules;

namespace Sgnas.Training;

/// <summary>Optimizer and learning-rate schedule of the retraining stage.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RetrainOptimizer>))]
public enum RetrainOptimizer
{
    /// <summary>Paper section 4.1: RMSProp (momentum 0.9), linear warm-up then step decay (<see cref="LearningRateSchedules.WarmupStepDecay"/>).</summary>
    RmsProp,
    /// <summary>Alternative: SGD with Nesterov momentum 0.9 and cosine annealing (<see cref="LearningRateSchedules.Cosine"/>).</summary>
    Sgd,
}

/// <summary>Training-time data augmentation.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<RetrainAugmentation>))]
public enum RetrainAugmentation
{
    /// <summary>By input size: below 64 px crop-and-flip (padding 2 up to 28 px, else 4); from 64 px random resized crop + flip.</summary>
    Auto,
    /// <summary>No augmentation.</summary>
    None,
    /// <summary><see cref="Data.BatchAugmentations.CropAndFlip"/> (CIFAR recipe).</summary>
    CropAndFlip,
    /// <summary><see cref="Data.BatchAugmentations.RandomResizedCrop"/> (ImageNet recipe).</summary>
    RandomResizedCrop,
}

/// <summary>Where the per-channel input normalisation comes from.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NormalizationSource>))]
public enum NormalizationSource
{
    /// <summary>The preset's <c>mean</c>/<c>std</c>.</summary>
    Preset,
    /// <summary>Computed over the training images (<see cref="Data.ImageDataset.ComputeNormalization"/>).</summary>
    Data,
}

/// <summary>
/// Options of <see cref="ArchitectureRetrainer"/> (stage 3: retraining a chosen architecture from scratch).
/// Null rates mean "the paper's value for the chosen optimizer", resolved by the <c>Effective*</c> members.
/// </summary>
public sealed record RetrainOptions
{
    /// <summary>Epochs to train in total (a resumed run continues up to this many).</summary>
    public int Epochs { get; init; } = 10;

    /// <summary>Images per training step.</summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>Images per evaluation batch (validation and test).</summary>
    public int EvalBatchSize { get; init; } = 256;

    /// <summary>Optimizer and schedule (paper: RMSProp).</summary>
    public RetrainOptimizer Optimizer { get; init; } = RetrainOptimizer.RmsProp;

    /// <summary>Peak learning rate; null scales the default rate per 256 images (<see cref="LearningRatePer256"/>) to <see cref="BatchSize"/>.</summary>
    public double? LearningRate { get; init; }

    /// <summary>Linear warm-up in epochs; null = 5 for RMSProp (paper), 0 for SGD. Runs much shorter than the warm-up never reach the peak.</summary>
    public double? WarmupEpochs { get; init; }

    /// <summary>RMSProp schedule: epochs between two decays (paper 3).</summary>
    public double DecayEveryEpochs { get; init; } = LearningRateSchedules.PaperDecayEveryEpochs;

    /// <summary>RMSProp schedule: multiplier per decay (0.97, our reading of the paper's "decays 0.03").</summary>
    public double DecayFactor { get; init; } = LearningRateSchedules.PaperDecayFactor;

    /// <summary>Momentum of RMSProp and SGD (paper 0.9).</summary>
    public double Momentum { get; init; } = 0.9;

    /// <summary>
    /// RMSProp smoothing constant of the squared-gradient average (TF reference <c>decay</c> 0.9; PyTorch's default is 0.99).
    /// </summary>
    public double RmsPropAlpha { get; init; } = 0.9;

    /// <summary>
    /// RMSProp epsilon, 1e-3 as in the TF EfficientNet/MnasNet reference, added inside the square root as TF does
    /// (see <see cref="TfRmsProp"/>).
    /// </summary>
    public double RmsPropEpsilon { get; init; } = 1e-3;

    /// <summary>L2 weight decay of conv and linear weights (not BN, not biases, as in the TF reference); null = 1e-5 RMSProp, 4e-5 SGD.</summary>
    public double? WeightDecay { get; init; }

    /// <summary>Label smoothing of the training cross-entropy (0 disables).</summary>
    public double LabelSmoothing { get; init; } = 0.1;

    /// <summary>Share of the training images held out (stratified, seeded) to pick the best epoch; 0 keeps the last epoch.</summary>
    public double ValidationFraction { get; init; } = 0.1;

    /// <summary>Use at most this many images of the training file (a seeded random subset, before the validation split).</summary>
    public int? MaxTrainImages { get; init; }

    /// <summary>Training augmentation.</summary>
    public RetrainAugmentation Augmentation { get; init; } = RetrainAugmentation.Auto;

    /// <summary>Input normalisation source.</summary>
    public NormalizationSource Normalization { get; init; } = NormalizationSource.Preset;

    /// <summary>Network options: squeeze-and-excitation, activation, dropout (SGNAS-A/B/C use SE and h-swish).</summary>
    public ChildNetworkOptions Network { get; init; } = new();

    /// <summary>
    /// Peak learning rate per 256 images when <see cref="LearningRate"/> is null; null = RMSProp 0.016 (the reference
    /// retraining script's, <see cref="ReferenceRmsPropRatePer256"/>; the paper's text says 0.16,
    /// <see cref="LearningRateSchedules.RmsPropPeakLearningRate"/>, which measured 1.7 points lower in a 3-epoch
    /// comparison, docs/generator.md section 5) and SGD 0.1.
    /// </summary>
    public double? LearningRatePer256 { get; init; }

    /// <summary>The reference retraining script's RMSProp peak rate for a global batch of 256.</summary>
    public const double ReferenceRmsPropRatePer256 = 0.016;

    /// <summary>
    /// Decay of an exponential moving average of the weights (<see cref="WeightEma"/>), evaluated for validation, kept as
    /// best.pt and tested; null = off. The reference script keeps one (TF default 0.9999; short runs need less, e.g. 0.999).
    /// </summary>
    public double? EmaDecay { get; init; }

    /// <summary>Weight initialisation of the network before training.</summary>
    public WeightInitKind Init { get; init; } = WeightInitKind.Default;

    /// <summary>
    /// The reference retraining recipe where it differs from the defaults (docs/generator.md section 3): RMSProp at
    /// 0.016 per 256 images, weight EMA 0.9999, the reference initialisation and <see cref="ChildNetworkOptions.Reference"/>
    /// (SE e·c_in/4 in every block and in the first MBConv, dropout 0.2).
    /// </summary>
    public static RetrainOptions Reference { get; } = new()
    {
        Optimizer = RetrainOptimizer.RmsProp, LearningRatePer256 = ReferenceRmsPropRatePer256, EmaDecay = 0.9999,
        Init = WeightInitKind.Reference, Network = ChildNetworkOptions.Reference,
    };

    /// <summary>Seed of weight init, data order, split, augmentation and dropout.</summary>
    public int Seed { get; init; }

    /// <summary>Continue from the checkpoint in the output folder at the epoch after its last completed one.</summary>
    public bool Resume { get; init; }

    /// <summary>Peak learning rate after defaults and batch scaling.</summary>
    [JsonIgnore]
    public double EffectiveLearningRate => LearningRate ?? LearningRateSchedules.ScaleWithBatch(LearningRatePer256 ??
        (Optimizer == RetrainOptimizer.RmsProp ? ReferenceRmsPropRatePer256 : LearningRateSchedules.SgdPeakLearningRate), BatchSize);

    /// <summary>Weight decay after defaults.</summary>
    [JsonIgnore]
    public double EffectiveWeightDecay => WeightDecay ?? (Optimizer == RetrainOptimizer.RmsProp ? 1e-5 : 4e-5);

    /// <summary>Warm-up epochs after defaults.</summary>
    [JsonIgnore]
    public double EffectiveWarmupEpochs => WarmupEpochs ?? (Optimizer == RetrainOptimizer.RmsProp ? LearningRateSchedules.PaperWarmupEpochs : 0);

    /// <summary>Learning rate at training position <paramref name="position"/> (epochs, fractional).</summary>
    public double LearningRateAt(double position) => Optimizer == RetrainOptimizer.RmsProp
        ? LearningRateSchedules.WarmupStepDecay(EffectiveLearningRate, position, EffectiveWarmupEpochs, DecayEveryEpochs, DecayFactor)
        : LearningRateSchedules.Cosine(EffectiveLearningRate, position, Epochs, Math.Min(EffectiveWarmupEpochs, Epochs * 0.5));

    /// <summary>Throws <see cref="ArgumentException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object? value, string rule)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"retrain option {name} {rule}; got {value}.");
        }
        Check(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1");
        Check(EvalBatchSize >= 1, nameof(EvalBatchSize), EvalBatchSize, "must be at least 1");
        Check(LearningRate is null || LearningRate > 0 && double.IsFinite(LearningRate.Value), nameof(LearningRate), LearningRate, "must be positive and finite");
        Check(WarmupEpochs is null || WarmupEpochs >= 0 && double.IsFinite(WarmupEpochs.Value), nameof(WarmupEpochs), WarmupEpochs, "must be ≥ 0");
        Check(DecayEveryEpochs > 0, nameof(DecayEveryEpochs), DecayEveryEpochs, "must be positive");
        Check(DecayFactor > 0 && DecayFactor <= 1, nameof(DecayFactor), DecayFactor, "must lie in (0, 1]");
        Check(Momentum >= 0 && Momentum < 1, nameof(Momentum), Momentum, "must lie in [0, 1)");
        Check(RmsPropAlpha > 0 && RmsPropAlpha < 1, nameof(RmsPropAlpha), RmsPropAlpha, "must lie in (0, 1)");
        Check(RmsPropEpsilon > 0, nameof(RmsPropEpsilon), RmsPropEpsilon, "must be positive");
        Check(WeightDecay is null || WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be ≥ 0");
        Check(LabelSmoothing >= 0 && LabelSmoothing < 1, nameof(LabelSmoothing), LabelSmoothing, "must lie in [0, 1)");
        Check(ValidationFraction >= 0 && ValidationFraction < 1, nameof(ValidationFraction), ValidationFraction, "must lie in [0, 1)");
        Check(MaxTrainImages is null || MaxTrainImages >= 2, nameof(MaxTrainImages), MaxTrainImages, "must be at least 2");
        Check(Network.Dropout >= 0 && Network.Dropout < 1, "Network.Dropout", Network.Dropout, "must lie in [0, 1)");
        Check(LearningRatePer256 is null || LearningRatePer256 > 0 && double.IsFinite(LearningRatePer256.Value), nameof(LearningRatePer256), LearningRatePer256, "must be positive and finite");
        Check(EmaDecay is null || EmaDecay > 0 && EmaDecay < 1, nameof(EmaDecay), EmaDecay, "must lie in (0, 1)");
        Check(Network.SeReduction >= 1, "Network.SeReduction", Network.SeReduction, "must be at least 1");
    }
}
