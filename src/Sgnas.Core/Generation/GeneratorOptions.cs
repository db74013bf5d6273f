namespace Sgnas.Generation;

/// <summary>How the generator's random prior is chosen (paper section 3.2.2).</summary>
public enum PriorKind
{
    /// <summary>One random architecture per constraint bucket, the one nearest to the target is used (this project's pool).</summary>
    Bucketed,
    /// <summary>A single random architecture for every target (the paper's text; the reference code's pool size 1).</summary>
    SingleRandom,
}

/// <summary>
/// Options of generator training and generation (SGNAS stage 2, docs/design.md §4–5). Defaults marked
/// "paper" come from appendix A.3 / section 3.2, "reference code" from github.com/eric8607242/SGNAS.
/// <para>
/// λ and the dead-zone margin are in M FLOPs and were set for ImageNet, whose reference interval is
/// 270..450 M (width 180 M). Small presets span a few M (fashion-small ≈ 1.4..5.1 M), where λ = 3e-4 would make
/// L_C vanish (an error of the whole interval costs ≈ 0.004) and a ±0.1 M margin would ignore ≈ 3% of the interval.
/// So both default to null, meaning "scaled to the interval": margin = <see cref="MarginFraction"/> (1%) of the
/// interval width W, and λ = 3e-4 · (180 / W)², which gives an error of a given fraction of the interval the same
/// weight against the cross-entropy as in the paper's ImageNet setting (for W = 180 M it is exactly the paper's
/// λ). <see cref="Paper"/> restores the literal paper values.
/// </para>
/// </summary>
public sealed record GeneratorOptions
{
    /// <summary>Width of the reference code's ImageNet constraint interval (270..450 M), the scale λ was tuned for.</summary>
    public const double ReferenceIntervalWidthM = 180.0;

    /// <summary>Epochs over the validation split (paper: 50).</summary>
    public int Epochs { get; init; } = 50;
    /// <summary>Images per step (paper: 128).</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Adam learning rate (paper: 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;
    /// <summary>Adam β1 (paper: 0.5).</summary>
    public double Beta1 { get; init; } = 0.5;
    /// <summary>Adam β2 (paper: 0.999).</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Adam weight decay (paper: 0).</summary>
    public double WeightDecay { get; init; } = 0.0;
    /// <summary>Initial Gumbel-softmax temperature (paper: 5.0).</summary>
    public double InitialTemperature { get; init; } = GumbelSoftmax.PaperInitialTemperature;
    /// <summary>Temperature factor per epoch (paper: 0.95).</summary>
    public double TemperatureDecay { get; init; } = GumbelSoftmax.PaperTemperatureDecay;
    /// <summary>Straight-through hard Gumbel-softmax instead of soft weights (default soft, as the reference).</summary>
    public bool HardGumbel { get; init; }
    /// <summary>λ of Eq. 10 with FLOPs in M; null = scaled to the interval (see the type's remarks).</summary>
    public double? CostWeight { get; init; }
    /// <summary>Dead-zone half-width of L_C in M (ms for latency); null = <see cref="MarginFraction"/> of the interval width.</summary>
    public double? ConstraintMarginM { get; init; }
    /// <summary>Margin as a fraction of the interval width when <see cref="ConstraintMarginM"/> is null (default 1%).</summary>
    public double MarginFraction { get; init; } = 0.01;
    /// <summary>Factor on the squared over-budget error (reference code: 1.2).</summary>
    public double OverBudgetPenalty { get; init; } = ConstraintLoss.ReferenceOverBudgetPenalty;
    /// <summary>Lower end of the target interval in M (in ms when training against a latency table); null = the preset's / lookup table's (latency: the table's predicted range).</summary>
    public double? ConstraintLowM { get; init; }
    /// <summary>Upper end of the target interval in M (in ms when training against a latency table); null = the preset's / lookup table's (latency: the table's predicted range).</summary>
    public double? ConstraintHighM { get; init; }
    /// <summary>How the random prior B is chosen (default: the bucketed pool; <see cref="PriorKind.SingleRandom"/>: the paper's / reference's single prior).</summary>
    [System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<PriorKind>))]
    public PriorKind Prior { get; init; } = PriorKind.Bucketed;
    /// <summary>Number of prior-pool buckets over the interval (<see cref="PriorKind.Bucketed"/>); 200 gives the calibrated
    /// generation about 200 distinct architectures to choose from (docs/generator.md section 7; 10 gave about 20).</summary>
    public int PriorBuckets { get; init; } = 200;
    /// <summary>Random-walk steps allowed per bucket when searching a prior near its centre.</summary>
    public int PriorMaxTries { get; init; } = 2000;
    /// <summary>Channels the constraint is broadcast to (reference code: hc_dim 10).</summary>
    public int ConstraintChannels { get; init; } = 10;
    /// <summary>Channels of every hidden conv (paper: 32).</summary>
    public int HiddenChannels { get; init; } = 32;
    /// <summary>Convs in the body (reference code: layer_nums 5 − 2 = 3).</summary>
    public int BodyLayers { get; init; } = 3;
    /// <summary>Targets evenly spread over the interval for the per-epoch evaluation.</summary>
    public int EvaluationTargets { get; init; } = 10;
    /// <summary>Validation batches (fixed, the same every epoch) for the per-epoch supernet top-1 of generated architectures.</summary>
    public int EvaluationBatches { get; init; } = 4;
    /// <summary>Targets evenly spread over the interval whose generated architectures' supernet top-1 is averaged per epoch.</summary>
    public int AccuracyTargets { get; init; } = 5;
    /// <summary>Which epoch is kept (default: best average top-1 among epochs that fit the constraint; docs/generator.md).</summary>
    public GeneratorSelectionRule Selection { get; init; } = GeneratorSelectionRule.Accuracy;
    /// <summary>Largest mean relative FLOPs error over the evaluation targets for an epoch to count as fitting the constraint.</summary>
    public double SelectionTolerance { get; init; } = 0.05;
    /// <summary>
    /// Extra targets drawn per step whose constraint loss L_C (Eq. 8, on their own Gumbel-relaxed α; Eq. 9 needs no
    /// supernet pass) is averaged with the step target's. 0 = the paper: one target per step. Eq. 10's objective is
    /// an expectation over targets; its cross-entropy term needs a supernet forward per target, its L_C term costs
    /// one generator row, so more L_C samples per step reduce the noise of the cost mapping at almost no cost
    /// (docs/generator.md, "Cost targets per step").
    /// </summary>
    public int ExtraCostTargets { get; init; }
    /// <summary>Seed of the generator's initialisation, the Gumbel noise, the target draws and the prior pool.</summary>
    public int Seed { get; init; }

    /// <summary>The literal paper / reference-code values: λ = 3e-4, margin 0.1 M.</summary>
    public static GeneratorOptions Paper { get; } = new() { CostWeight = GeneratorLoss.PaperCostWeight, ConstraintMarginM = ConstraintLoss.ReferenceMarginM };

    /// <summary>λ in effect for an interval of width <paramref name="widthM"/>.</summary>
    public double ResolveCostWeight(double widthM) =>
        CostWeight ?? GeneratorLoss.PaperCostWeight * Math.Pow(ReferenceIntervalWidthM / widthM, 2);

    /// <summary>Margin in effect for an interval of width <paramref name="widthM"/>.</summary>
    public double ResolveMarginM(double widthM) => ConstraintMarginM ?? MarginFraction * widthM;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first option out of range.</summary>
    public void Validate()
    {
        static void Check(bool ok, string name, object value, string what)
        {
            if (!ok) throw new ArgumentOutOfRangeException(name, value, $"GeneratorOptions.{name} {what}");
        }
        Check(Epochs >= 1, nameof(Epochs), Epochs, "must be at least 1.");
        Check(BatchSize >= 1, nameof(BatchSize), BatchSize, "must be at least 1.");
        Check(LearningRate > 0, nameof(LearningRate), LearningRate, "must be positive.");
        Check(Beta1 is >= 0 and < 1, nameof(Beta1), Beta1, "must lie in [0, 1).");
        Check(Beta2 is >= 0 and < 1, nameof(Beta2), Beta2, "must lie in [0, 1).");
        Check(WeightDecay >= 0, nameof(WeightDecay), WeightDecay, "must be ≥ 0.");
        Check(InitialTemperature > 0, nameof(InitialTemperature), InitialTemperature, "must be positive.");
        Check(TemperatureDecay is > 0 and <= 1, nameof(TemperatureDecay), TemperatureDecay, "must lie in (0, 1].");
        Check(CostWeight is null or >= 0, nameof(CostWeight), CostWeight!, "must be ≥ 0.");
        Check(ConstraintMarginM is null or >= 0, nameof(ConstraintMarginM), ConstraintMarginM!, "must be ≥ 0.");
        Check(MarginFraction is >= 0 and < 1, nameof(MarginFraction), MarginFraction, "must lie in [0, 1).");
        Check(OverBudgetPenalty > 0, nameof(OverBudgetPenalty), OverBudgetPenalty, "must be positive.");
        Check(ConstraintLowM is null || ConstraintHighM is null || ConstraintLowM < ConstraintHighM,
            nameof(ConstraintLowM), ConstraintLowM!, "must be below ConstraintHighM.");
        Check(PriorBuckets >= 1, nameof(PriorBuckets), PriorBuckets, "must be at least 1.");
        Check(PriorMaxTries >= 1, nameof(PriorMaxTries), PriorMaxTries, "must be at least 1.");
        Check(ConstraintChannels >= 1, nameof(ConstraintChannels), ConstraintChannels, "must be at least 1.");
        Check(HiddenChannels >= 1, nameof(HiddenChannels), HiddenChannels, "must be at least 1.");
        Check(BodyLayers >= 0, nameof(BodyLayers), BodyLayers, "must be ≥ 0.");
        Check(EvaluationTargets >= 2, nameof(EvaluationTargets), EvaluationTargets, "must be at least 2 (correlations need two points).");
        Check(EvaluationBatches >= 0, nameof(EvaluationBatches), EvaluationBatches, "must be ≥ 0.");
        Check(AccuracyTargets >= 1, nameof(AccuracyTargets), AccuracyTargets, "must be at least 1.");
        Check(SelectionTolerance >= 0, nameof(SelectionTolerance), SelectionTolerance, "must be ≥ 0.");
        Check(ExtraCostTargets is >= 0 and <= 4096, nameof(ExtraCostTargets), ExtraCostTargets, "must lie in 0..4096.");
        Check(Enum.IsDefined(Selection), nameof(Selection), Selection, "is not a known rule.");
    }
}
