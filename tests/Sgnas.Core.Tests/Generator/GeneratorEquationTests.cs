using Sgnas.Generator;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Generator;

public class GumbelSoftmaxTests
{
    [Fact]
    public void TemperatureFollowsThePaperSchedule()
    {
        Assert.Equal(5.0, GumbelSoftmax.Temperature(0));
        Assert.Equal(5.0 * 0.95 * 0.95, GumbelSoftmax.Temperature(2), 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => GumbelSoftmax.Temperature(-1));
    }

    [Fact]
    public void Eq2WithoutNoiseIsSoftmaxOfAlphaOverTau()
    {
        using var alpha = tensor(new float[] { 1, 2, 3, 0 }, new long[] { 1, 4 });
        using var m = GumbelSoftmax.Relax(alpha, 2.0, null, null);
        var expect = new[] { 0.5, 1.0, 1.5, 0.0 }.Select(Math.Exp).ToArray();
        double z = expect.Sum();
        var got = m.data<float>().ToArray();
        for (int k = 0; k < 4; k++) Assert.Equal(expect[k] / z, got[k], 5);
    }

    [Fact]
    public void Eq2AddsNoiseBeforeDividingByTau()
    {
        using var alpha = tensor(new float[] { 1, 2 }, new long[] { 1, 2 });
        using var g = tensor(new float[] { 3, 0 }, new long[] { 1, 2 });
        using var m = GumbelSoftmax.Relax(alpha, 0.5, null, g);
        // logits (1+3)/0.5 = 8 and 2/0.5 = 4
        Assert.Equal(1 / (1 + Math.Exp(-4)), m.data<float>()[0], 5);
    }

    [Fact]
    public void ForcedSamplingMaskGivesSkipZeroWeightInTheFirstSubBlocks()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        using var gen = new torch.Generator(3);
        using var alpha = randn(new long[] { 2, p.LayerCount, 6, 4 }, generator: gen);
        using var m = GumbelSoftmax.Sample(alpha, 1.0, p, gen);
        var skip = m.select(3, p.SkipIndex);
        Assert.Equal(0f, skip.narrow(2, 0, p.MinExpansion).abs().max().item<float>());
        Assert.True(skip.narrow(2, p.MinExpansion, 6 - p.MinExpansion).min().item<float>() > 0);
        Assert.True(m.sum(3).sub(1).abs().max().item<float>() < 1e-5);
    }

    [Fact]
    public void NoiseIsReproducibleFromTheSeed()
    {
        using var g1 = new torch.Generator(42);
        using var g2 = new torch.Generator(42);
        using var g3 = new torch.Generator(43);
        using var a = GumbelSoftmax.Noise(new long[] { 3, 4 }, g1);
        using var b = GumbelSoftmax.Noise(new long[] { 3, 4 }, g2);
        using var c = GumbelSoftmax.Noise(new long[] { 3, 4 }, g3);
        Assert.True(a.equal(b).all().item<bool>());
        Assert.False(a.equal(c).all().item<bool>());
        Assert.True(a.isfinite().all().item<bool>());
    }

    [Fact]
    public void HardIsOneHotForwardWithSoftGradient()
    {
        using var a1 = tensor(new float[] { 0.1f, 0.7f, -0.2f, 0.3f }, new long[] { 1, 4 }).requires_grad_();
        using var a2 = tensor(new float[] { 0.1f, 0.7f, -0.2f, 0.3f }, new long[] { 1, 4 }).requires_grad_();
        using var w = tensor(new float[] { 1, 2, 3, 4 }, new long[] { 1, 4 });
        var hard = GumbelSoftmax.Relax(a1, 1.0, null, null, hard: true);
        Assert.Equal(new float[] { 0, 1, 0, 0 }, hard.data<float>().ToArray());
        (hard * w).sum().backward();
        var soft = GumbelSoftmax.Relax(a2, 1.0, null, null);
        (soft * w).sum().backward();
        Assert.True(a1.grad!.allclose(a2.grad!, rtol: 1e-5, atol: 1e-6));
    }
}

public class ConstraintLossTests
{
    [Fact]
    public void OverBudgetScalesTheSquaredErrorBy1Point2()
    {
        // d = 5 - 4 = 1 > 0.1: 1.2 * 1^2
        Assert.Equal(1.2, ConstraintLoss.Value(5, 4), 12);
        // d = 4.5 - 4 = 0.5: 1.2 * 0.25 = 0.3 (not (1.2 * 0.5)^2 = 0.36)
        Assert.Equal(0.3, ConstraintLoss.Value(4.5, 4), 12);
    }

    [Fact]
    public void UnderBudgetIsThePlainSquare() => Assert.Equal(0.25, ConstraintLoss.Value(3.5, 4), 12);

    [Fact]
    public void WithinTheMarginIsFree()
    {
        Assert.Equal(0, ConstraintLoss.Value(4.05, 4));
        Assert.Equal(0, ConstraintLoss.Value(3.95, 4));
        // just outside: the full error counts (0.15^2), as in the reference
        Assert.Equal(0.0225, ConstraintLoss.Value(3.85, 4), 12);
        Assert.Equal(0, ConstraintLoss.Value(4.3, 4, marginM: 0.5));
    }

    [Fact]
    public void TensorFormMatchesAndHasTheRightGradient()
    {
        using var cost = tensor(new float[] { 5, 3.5f, 4.05f }).requires_grad_();
        using var target = tensor(new float[] { 4, 4, 4 });
        var lc = ConstraintLoss.Compute(cost, target);
        Assert.Equal(new[] { 1.2f, 0.25f, 0f }, lc.data<float>().ToArray().Select(v => MathF.Round(v, 5)).ToArray());
        lc.sum().backward();
        // d/dcost: 2 * 1.2 * 1 = 2.4; 2 * (-0.5) = -1; 0
        var g = cost.grad!.data<float>().ToArray();
        Assert.Equal(2.4f, g[0], 4); Assert.Equal(-1f, g[1], 4); Assert.Equal(0f, g[2], 4);
    }

    [Fact]
    public void GeneratorLossIsCrossEntropyPlusLambdaTimesLc()
    {
        using var ce = tensor(0.7f);
        using var cost = tensor(new float[] { 6 });
        using var target = tensor(new float[] { 4 });
        var (total, lc) = GeneratorLoss.Compute(ce, cost, target, costWeight: 0.5, marginM: 0.1, overBudgetPenalty: 1.2);
        Assert.Equal(4.8f, lc.item<float>(), 4);            // 1.2 * 2^2
        Assert.Equal(0.7f + 0.5f * 4.8f, total.item<float>(), 4);
    }

    [Fact]
    public void OptionsScaleLambdaAndMarginToTheInterval()
    {
        var o = new GeneratorOptions();
        Assert.Equal(3e-4, o.ResolveCostWeight(180), 12);             // the reference interval: the paper's λ
        Assert.Equal(3e-4 * 2500, o.ResolveCostWeight(3.6), 9);       // 50x narrower: 2500x λ
        Assert.Equal(0.036, o.ResolveMarginM(3.6), 12);
        Assert.Equal(3e-4, GeneratorOptions.Paper.ResolveCostWeight(3.6));
        Assert.Equal(0.1, GeneratorOptions.Paper.ResolveMarginM(3.6));
        Assert.Throws<ArgumentOutOfRangeException>(() => (o with { BatchSize = 0 }).Validate());
    }

    [Fact]
    public void NormalizationMapsTheIntervalToTheUnitRange()
    {
        Assert.Equal(0, ConstraintNormalization.Normalize(2, 2, 6));
        Assert.Equal(0.25, ConstraintNormalization.Normalize(3, 2, 6));
        Assert.Equal(1.5, ConstraintNormalization.Normalize(8, 2, 6));
        Assert.Equal(3, ConstraintNormalization.Denormalize(0.25, 2, 6));
        Assert.Throws<ArgumentException>(() => ConstraintNormalization.Normalize(3, 6, 6));
    }
}

public class CorrelationTests
{
    [Fact]
    public void KendallTauCountsConcordantPairs()
    {
        // one discordant pair (2,3) of six: (5 - 1) / 6
        Assert.Equal(4.0 / 6, Correlation.KendallTau(new double[] { 1, 2, 3, 4 }, new double[] { 1, 3, 2, 4 }), 12);
        Assert.Equal(1.0, Correlation.KendallTau(new double[] { 1, 2, 3 }, new double[] { 10, 20, 30 }), 12);
        Assert.Equal(-1.0, Correlation.KendallTau(new double[] { 1, 2, 3 }, new double[] { 3, 2, 1 }), 12);
    }

    [Fact]
    public void KendallTauBCorrectsForTies()
    {
        // pairs: (1,2) tied in y, (1,3) and (2,3) concordant: 2 / sqrt(3 * 2) (scipy: 0.8164965809)
        Assert.Equal(2 / Math.Sqrt(6), Correlation.KendallTau(new double[] { 1, 2, 3 }, new double[] { 1, 1, 2 }), 12);
        Assert.True(double.IsNaN(Correlation.KendallTau(new double[] { 1, 2, 3 }, new double[] { 5, 5, 5 })));
    }

    [Fact]
    public void PearsonOfAHandWorkedSeries()
    {
        // dx = -1,0,1; dy = -7/3,-1/3,8/3: sxy = 5, sxx = 2, syy = 38/3
        Assert.Equal(5 / Math.Sqrt(2 * 38.0 / 3), Correlation.Pearson(new double[] { 1, 2, 3 }, new double[] { 2, 4, 7 }), 12);
        Assert.True(double.IsNaN(Correlation.Pearson(new double[] { 1, 2 }, new double[] { 3, 3 })));
    }

    [Fact]
    public void MeanAbsoluteRelativeError()
    {
        Assert.Equal(0.375, Correlation.MeanAbsoluteRelativeError(new double[] { 2, 4 }, new double[] { 3, 3 }), 12);
        Assert.Throws<ArgumentException>(() => Correlation.MeanAbsoluteRelativeError(new double[] { 1 }, new double[] { 1 }));
    }
}
