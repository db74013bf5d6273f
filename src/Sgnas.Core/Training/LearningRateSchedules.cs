namespace Sgnas.Training;

/// <summary>
/// Learning-rate schedules of the retraining stage (docs/design.md §5), as pure functions of the training
/// position so that a resumed run reproduces the same rates.
/// <para>
/// Paper section 4.1: "RMSProp ... Learning rate is increased from 0 to 0.16 in the first 5 epochs with batch size
/// 256, and then decays 0.03 every 3 epochs." A subtraction of 0.03 would reach zero after 16 epochs, so the text is
/// read as the EfficientNet / MnasNet TF recipe it follows: multiply by 0.97 (a 3% decay) every few epochs
/// (EfficientNet: ×0.97 every 2.4 epochs). Two choices of ours: the staircase counts from the end of the warm-up, so
/// the rate reaches exactly the peak; and the peak scales linearly with the batch size (Goyal et al. 2017).
/// </para>
/// </summary>
public static class LearningRateSchedules
{
    /// <summary>Paper peak rate of RMSProp retraining at <see cref="ReferenceBatchSize"/>.</summary>
    public const double RmsPropPeakLearningRate = 0.16;

    /// <summary>Peak rate of the SGD + cosine alternative at <see cref="ReferenceBatchSize"/> (common MobileNet recipe: 0.1 per 256).</summary>
    public const double SgdPeakLearningRate = 0.1;

    /// <summary>Batch size the paper's rates refer to.</summary>
    public const int ReferenceBatchSize = 256;

    /// <summary>Paper: warm-up length in epochs.</summary>
    public const double PaperWarmupEpochs = 5;

    /// <summary>Paper: epochs between two decays.</summary>
    public const double PaperDecayEveryEpochs = 3;

    /// <summary>Our reading of the paper's "decays 0.03": multiply by 0.97.</summary>
    public const double PaperDecayFactor = 0.97;

    /// <summary>Linear scaling rule: <paramref name="referenceRate"/> × batch / <see cref="ReferenceBatchSize"/>.</summary>
    public static double ScaleWithBatch(double referenceRate, int batchSize)
    {
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive.");
        return referenceRate * batchSize / ReferenceBatchSize;
    }

    /// <summary>
    /// Linear warm-up from 0 to <paramref name="peak"/> over <paramref name="warmupEpochs"/>, then a staircase:
    /// peak × factor^⌊(t − warmup) / every⌋.
    /// </summary>
    /// <param name="peak">Rate at the end of the warm-up.</param>
    /// <param name="position">Training position in epochs (epoch index + fraction of the epoch done), ≥ 0.</param>
    /// <param name="warmupEpochs">Warm-up length in epochs (0 for none).</param>
    /// <param name="decayEveryEpochs">Epochs between two decays.</param>
    /// <param name="decayFactor">Multiplier per decay, in (0, 1].</param>
    public static double WarmupStepDecay(double peak, double position, double warmupEpochs = PaperWarmupEpochs,
        double decayEveryEpochs = PaperDecayEveryEpochs, double decayFactor = PaperDecayFactor)
    {
        if (position < 0) throw new ArgumentOutOfRangeException(nameof(position), position, "position must be ≥ 0.");
        if (warmupEpochs < 0) throw new ArgumentOutOfRangeException(nameof(warmupEpochs), warmupEpochs, "warm-up must be ≥ 0 epochs.");
        if (!(decayEveryEpochs > 0)) throw new ArgumentOutOfRangeException(nameof(decayEveryEpochs), decayEveryEpochs, "decay period must be positive.");
        if (!(decayFactor > 0 && decayFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(decayFactor), decayFactor, "decay factor must lie in (0, 1].");
        if (position < warmupEpochs) return peak * position / warmupEpochs;
        // The small tolerance keeps a position computed as a sum of step fractions (2.9999999) on the right stair.
        double stairs = Math.Floor((position - warmupEpochs) / decayEveryEpochs + 1e-9);
        return peak * Math.Pow(decayFactor, stairs);
    }

    /// <summary>
    /// Optional linear warm-up, then cosine annealing (Loshchilov and Hutter 2016) from <paramref name="peak"/> at the
    /// end of the warm-up to 0 at <paramref name="totalEpochs"/>.
    /// </summary>
    public static double Cosine(double peak, double position, double totalEpochs, double warmupEpochs = 0)
    {
        if (position < 0) throw new ArgumentOutOfRangeException(nameof(position), position, "position must be ≥ 0.");
        if (!(totalEpochs > 0)) throw new ArgumentOutOfRangeException(nameof(totalEpochs), totalEpochs, "total epochs must be positive.");
        if (warmupEpochs < 0 || warmupEpochs >= totalEpochs && warmupEpochs > 0)
            throw new ArgumentOutOfRangeException(nameof(warmupEpochs), warmupEpochs, $"warm-up must lie in [0, {totalEpochs}).");
        if (position < warmupEpochs) return peak * position / warmupEpochs;
        double t = Math.Min(1.0, (position - warmupEpochs) / (totalEpochs - warmupEpochs));
        return 0.5 * peak * (1 + Math.Cos(Math.PI * t));
    }
}
