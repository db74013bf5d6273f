using Sgnas.Training;

namespace Sgnas.Core.Tests.Training;

/// <summary>Retraining learning-rate schedules (paper section 4.1).</summary>
public class RetrainScheduleTests
{
    [Fact]
    public void WarmupRisesLinearlyToThePeakThenDecaysBy097EveryThreeEpochs()
    {
        const double peak = 0.16;
        Assert.Equal(0.0, LearningRateSchedules.WarmupStepDecay(peak, 0), 12);
        Assert.Equal(0.016, LearningRateSchedules.WarmupStepDecay(peak, 0.5), 12);
        Assert.Equal(0.128, LearningRateSchedules.WarmupStepDecay(peak, 4), 12);
        Assert.Equal(0.16, LearningRateSchedules.WarmupStepDecay(peak, 5), 12);
        Assert.Equal(0.16, LearningRateSchedules.WarmupStepDecay(peak, 7.99), 12);
        Assert.Equal(0.16 * 0.97, LearningRateSchedules.WarmupStepDecay(peak, 8), 12);
        Assert.Equal(0.16 * 0.97 * 0.97, LearningRateSchedules.WarmupStepDecay(peak, 11.5), 12);
        // a position summed from step fractions lands on the right stair
        double pos = 5; for (int i = 0; i < 30; i++) pos += 0.1;
        Assert.Equal(0.16 * 0.97, LearningRateSchedules.WarmupStepDecay(peak, pos), 12);
        // no warm-up: the peak at 0
        Assert.Equal(0.1, LearningRateSchedules.WarmupStepDecay(0.1, 0, warmupEpochs: 0), 12);
    }

    [Fact]
    public void PeakScalesLinearlyWithBatchSize()
    {
        Assert.Equal(0.16, LearningRateSchedules.ScaleWithBatch(0.16, 256), 12);
        Assert.Equal(0.08, LearningRateSchedules.ScaleWithBatch(0.16, 128), 12);
        Assert.Equal(0.008, new RetrainOptions { BatchSize = 128 }.EffectiveLearningRate, 12); // RMSProp default 0.016 per 256
        Assert.Equal(0.05, new RetrainOptions { BatchSize = 128, Optimizer = RetrainOptimizer.Sgd }.EffectiveLearningRate, 12);
        Assert.Equal(0.3, new RetrainOptions { BatchSize = 128, LearningRate = 0.3 }.EffectiveLearningRate, 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedules.ScaleWithBatch(0.16, 0));
    }

    [Fact]
    public void CosineGoesFromPeakToZeroThroughHalf()
    {
        Assert.Equal(0.1, LearningRateSchedules.Cosine(0.1, 0, 10), 12);
        Assert.Equal(0.05, LearningRateSchedules.Cosine(0.1, 5, 10), 12);
        Assert.Equal(0.0, LearningRateSchedules.Cosine(0.1, 10, 10), 12);
        Assert.Equal(0.1 * 0.5 * (1 + Math.Cos(Math.PI * 0.25)), LearningRateSchedules.Cosine(0.1, 2.5, 10), 12);
        // with warm-up: linear to the peak at 2, then cosine over the remaining 8
        Assert.Equal(0.05, LearningRateSchedules.Cosine(0.1, 1, 10, 2), 12);
        Assert.Equal(0.05, LearningRateSchedules.Cosine(0.1, 6, 10, 2), 12);
    }

    [Fact]
    public void OptionsPickTheScheduleAndDefaultsOfTheOptimizer()
    {
        var rms = new RetrainOptions { BatchSize = 256, Epochs = 20 };
        // RMSProp's default is the reference script's 0.016 per 256 images (the paper's text: 0.16; docs/generator.md section 5).
        Assert.Equal(0.016 * 2 / 5, rms.LearningRateAt(2), 12);
        Assert.Equal(0.016 * 0.97, rms.LearningRateAt(9), 12);
        Assert.Equal(0.16 * 2 / 5, (rms with { LearningRatePer256 = LearningRateSchedules.RmsPropPeakLearningRate }).LearningRateAt(2), 12);
        Assert.Equal(1e-5, rms.EffectiveWeightDecay);
        var sgd = new RetrainOptions { BatchSize = 256, Epochs = 20, Optimizer = RetrainOptimizer.Sgd };
        Assert.Equal(0.05, sgd.LearningRateAt(10), 12);
        Assert.Equal(4e-5, sgd.EffectiveWeightDecay);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetrainOptions { LabelSmoothing = 1 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetrainOptions { Epochs = 0 }.Validate());
    }
}
