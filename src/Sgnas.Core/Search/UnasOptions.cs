namespace Sgnas.Search;

/// <summary>Options of <see cref="UnasSearchStrategy"/> (docs/unas.md). Defaults sized for the fashion-small preset on a CPU.</summary>
public sealed record UnasOptions
{
    /// <summary>Gradient steps on the architecture distribution per budget.</summary>
    public int Steps { get; init; } = 40;
    /// <summary>Architectures sampled per step (the Monte Carlo size of each gradient estimate).</summary>
    public int SamplesPerStep { get; init; } = 4;
    /// <summary>Adam learning rate on the logits φ.</summary>
    public double LearningRate { get; init; } = 0.1;
    /// <summary>Temperature τ of the Gumbel-softmax relaxations inside the control variate (REBAR).</summary>
    public double Temperature { get; init; } = 0.5;
    /// <summary>The accuracy term: validation loss (Eq. 6) or the generalisation loss (Eq. 8).</summary>
    public UnasObjective Objective { get; init; } = UnasObjective.Validation;
    /// <summary>λ of UNAS Eq. 8 (paper: 0.5 "often works well").</summary>
    public double GapWeight { get; init; } = 0.5;
    /// <summary>
    /// Weight of the constraint term λ_c·[(r − 1)² + <see cref="OverBudgetSlope"/>·max(0, r − 1)] with r = cost / budget
    /// (this project's budget form of UNAS's latency loss, docs/unas.md).
    /// </summary>
    public double CostWeight { get; init; } = 1.0;
    /// <summary>Extra linear penalty per unit of relative excess over the budget.</summary>
    public double OverBudgetSlope { get; init; } = 2.0;
    /// <summary>Random architectures the linear surrogate g of the cost is fitted on (UNAS section 5: a linear g by L2 regression).</summary>
    public int SurrogateArchitectures { get; init; } = 400;
    /// <summary>Images per sampled architecture in each loss evaluation (one mini-batch).</summary>
    public int ImagesPerSample { get; init; } = 64;
    /// <summary>Use the REBAR/RELAX control variate (UNAS Eq. 3, 5); false gives plain REINFORCE (Eq. 1), for ablations.</summary>
    public bool ControlVariate { get; init; } = true;
    /// <summary>Seed of the sampling noise and of the mini-batch order.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first bad option.</summary>
    public void Validate()
    {
        if (Steps < 1) throw new ArgumentOutOfRangeException(nameof(Steps), Steps, "UNAS needs at least one step.");
        if (SamplesPerStep < 1) throw new ArgumentOutOfRangeException(nameof(SamplesPerStep), SamplesPerStep, "At least one sample per step.");
        if (!(LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate, "The learning rate must be positive.");
        if (!(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "The temperature must be positive.");
        if (!(GapWeight >= 0)) throw new ArgumentOutOfRangeException(nameof(GapWeight), GapWeight, "The gap weight must not be negative.");
        if (!(CostWeight >= 0)) throw new ArgumentOutOfRangeException(nameof(CostWeight), CostWeight, "The cost weight must not be negative.");
        if (!(OverBudgetSlope >= 0)) throw new ArgumentOutOfRangeException(nameof(OverBudgetSlope), OverBudgetSlope, "The over-budget slope must not be negative.");
        if (SurrogateArchitectures < 2) throw new ArgumentOutOfRangeException(nameof(SurrogateArchitectures), SurrogateArchitectures, "The surrogate needs at least 2 architectures.");
        if (ImagesPerSample < 1) throw new ArgumentOutOfRangeException(nameof(ImagesPerSample), ImagesPerSample, "At least one image per sample.");
    }
}
