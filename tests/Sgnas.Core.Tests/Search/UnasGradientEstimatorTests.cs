using Sgnas.Search;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Search;

/// <summary>UNAS Eq. 1 (REINFORCE) and Eq. 3 / 5 (REBAR / RELAX control variates) on toy objectives with exact gradients.</summary>
public class UnasGradientEstimatorTests
{
    // 4 rows × 4 options; row 0 may not take option 3 (as a sub-block that may not skip).
    private static Tensor Mask() => tensor(new float[] { 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, new long[] { 4, 4 });
    private static Tensor Logits() => tensor(new double[] { 0.3, -0.2, 0.5, 0, 0, 0.4, -0.6, 0.1, 1.0, -1.0, 0.2, 0.0, -0.3, 0.3, 0.7, -0.1 }, new long[] { 4, 4 });
    private static readonly double[] AValues = { 1, 2, 3, 0, 0.5, 1, 4, 0, 2, 1, 0.5, 3, 1, 3, 2, 0 };
    private static Tensor A => tensor(AValues, new long[] { 4, 4 });
    private static readonly double[] CValues = { 0.1, -0.2, 0.3, 0, 0.2, 0.1, -0.1, 0.4, 0, 0.3, -0.3, 0.2, 0.1, 0, 0.2, -0.2 };
    private static Tensor C => tensor(CValues, new long[] { 4, 4 });
    private const double Target = 6.0;

    // L(z) = (a·z − t)² + c·z on one-hot or relaxed z [N, 4, 4].
    private static Tensor Loss(Tensor z)
    {
        var az = (z * A.to(z.dtype)).sum(new long[] { 1, 2 });
        return (az - Target).pow(2) + (z * C.to(z.dtype)).sum(new long[] { 1, 2 });
    }

    // Exact E[L] under independent categoricals: Var(a·z) + (E[a·z] − t)² + E[c·z], differentiated by autograd.
    private static Tensor ExactGradient()
    {
        var phi = Logits().clone().requires_grad_(true);
        var p = UnasGradientEstimator.Probabilities(phi, Mask());
        var mean = (p * A).sum(1);
        var variance = (p * A.pow(2)).sum(1) - mean.pow(2);
        var expected = variance.sum() + (mean.sum() - Target).pow(2) + (p * C).sum();
        return autograd.grad(new[] { expected }, new[] { phi })[0].detach();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MeanEstimateEqualsTheExactGradientWithinSamplingError(bool controlVariate)
    {
        using var scope = NewDisposeScope();
        var gen = new Generator(42);
        const int n = 10000;
        using var s = UnasGradientEstimator.Estimate(Logits(), Mask(), n, Loss, controlVariate ? Loss : null, 0.5, gen);
        var mean = s.Mean();
        var se = s.Gradients.std(new long[] { 0 }) / Math.Sqrt(n);
        var exact = ExactGradient();
        var z = ((mean - exact).abs() / (se + 1e-12)).masked_fill(Mask().eq(0), 0);
        // 15 free entries: all within 4.5 standard errors (a wrong term would be off by many).
        Assert.True(z.max().item<double>() < 4.5, $"max z-score {z.max().item<double>():F2}; mean {mean.str()} exact {exact.str()}");
        Assert.Equal(0, mean.masked_select(Mask().eq(0)).abs().sum().item<double>());
        // exact gradient is not trivially zero
        Assert.True(exact.abs().max().item<double>() > 0.5);
    }

    [Theory]
    [InlineData(0.0, 0.6)] // the toy loss as is: measured ratio about 0.5 at τ = 0.5
    [InlineData(5.0, 0.3)] // plus a constant, like the large shared part of a supernet's cross-entropy: measured about 0.25
    public void RebarControlVariateLowersTheVarianceAgainstPlainReinforce(double offset, double maxRatio)
    {
        using var scope = NewDisposeScope();
        const int n = 4000;
        Tensor Shifted(Tensor z) => Loss(z) + offset;
        using var plain = UnasGradientEstimator.Estimate(Logits(), Mask(), n, Shifted, null, 0.5, new Generator(7));
        using var rebar = UnasGradientEstimator.Estimate(Logits(), Mask(), n, Shifted, Shifted, 0.5, new Generator(7));
        double vPlain = plain.Gradients.var(new long[] { 0 }).sum().item<double>();
        double vRebar = rebar.Gradients.var(new long[] { 0 }).sum().item<double>();
        Assert.True(vRebar < maxRatio * vPlain, $"total variance REBAR {vRebar:G4} vs REINFORCE {vPlain:G4}");
    }

    [Fact]
    public void RelaxWithALinearSurrogateIsUnbiasedForANonDifferentiableLossAndLowersVariance()
    {
        using var scope = NewDisposeScope();
        // A black-box loss (rounded, so not differentiable in z) and a linear surrogate g(ζ) = a·ζ fitted to it.
        Tensor BlackBox(Tensor z) => (z * A).sum(new long[] { 1, 2 }).mul(2).round().div(2).pow(2);
        Tensor Surrogate(Tensor zeta) => (zeta * A.to(zeta.dtype)).sum(new long[] { 1, 2 }).pow(2);
        const int n = 20000;
        using var plain = UnasGradientEstimator.Estimate(Logits(), Mask(), n, BlackBox, null, 0.5, new Generator(3));
        using var relax = UnasGradientEstimator.Estimate(Logits(), Mask(), n, BlackBox, Surrogate, 0.5, new Generator(4));
        // Unbiased: both agree within their sampling errors (no exact form for the rounded loss).
        var diff = (plain.Mean() - relax.Mean()).abs();
        var se = (plain.Gradients.var(new long[] { 0 }) / n + relax.Gradients.var(new long[] { 0 }) / n).sqrt() + 1e-12;
        Assert.True((diff / se).max().item<double>() < 4.5, $"REINFORCE {plain.Mean().str()} vs RELAX {relax.Mean().str()}");
        double vPlain = plain.Gradients.var(new long[] { 0 }).sum().item<double>();
        double vRelax = relax.Gradients.var(new long[] { 0 }).sum().item<double>();
        Assert.True(vRelax < 0.2 * vPlain, $"total variance RELAX {vRelax:G4} vs REINFORCE {vPlain:G4}");
    }

    [Fact]
    public void GradientDescentWithTheEstimatorFindsTheKnownOptimum()
    {
        using var scope = NewDisposeScope();
        // Linear loss c·z: the optimum takes, per row, the allowed option with the smallest c.
        Tensor Linear(Tensor z) => (z * C.to(z.dtype)).sum(new long[] { 1, 2 });
        var phi = zeros(4, 4, dtype: float64);
        var gen = new Generator(5);
        for (int step = 0; step < 300; step++)
        {
            using var s = UnasGradientEstimator.Estimate(phi, Mask(), 8, Linear, Linear, 1.0, gen);
            phi = (phi - 2.0 * s.Mean()).detach();
        }
        var best = UnasGradientEstimator.Probabilities(phi, Mask()).argmax(1).data<long>().ToArray();
        Assert.Equal(new long[] { 1, 2, 2, 3 }, best);
    }
}
