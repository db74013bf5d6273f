using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Search;

/// <summary>Per-sample gradient estimates of one <see cref="UnasGradientEstimator.Estimate"/> call.</summary>
/// <param name="Gradients">[N, rows, options]: one unbiased estimate of ∂/∂φ E[L(z)] per sample (float64, detached).</param>
/// <param name="Losses">[N]: L(z) of each sampled z.</param>
/// <param name="Samples">[N, rows, options]: the one-hot samples z.</param>
public sealed record UnasGradientSample(Tensor Gradients, Tensor Losses, Tensor Samples) : IDisposable
{
    /// <summary>The mean of the per-sample estimates, [rows, options].</summary>
    public Tensor Mean() => Gradients.mean(new long[] { 0 });

    /// <inheritdoc />
    public void Dispose()
    {
        Gradients.Dispose(); Losses.Dispose(); Samples.Dispose();
    }
}

/// <summary>
/// The gradient estimator of UNAS (Vahdat et al., CVPR 2020, section 3.1) for a factorised categorical distribution
/// p_φ(z) = Π_r Cat(z_r; softmax(φ_r)) over the options of every row r (in this project a row is one sub-block of
/// one layer; options a row may not take are masked out).
/// <para>
/// Without a control variate it is REINFORCE, UNAS Eq. 1: (L(z)) · ∂_φ log p_φ(z).
/// </para>
/// <para>
/// With a differentiable control variate f(ζ) on relaxed architectures it is UNAS Eq. 2 with the REBAR baseline
/// c(z) = E_{r_φ(ζ|z)}[f(ζ)] (Eq. 3 for the differentiable loss, Eq. 5 / RELAX when f contains a surrogate g of a
/// non-differentiable term), one sample each:
/// </para>
/// <para>
/// ĝ = (L(z) − f(ζ̃)) · ∂_φ log p_φ(z) − ∂_φ f(ζ̃) + ∂_φ f(ζ),
/// </para>
/// <para>
/// (i) reinforce, (ii) correction and (iii) Gumbel-softmax terms, where ζ = softmax((log θ + G)/τ) with Gumbel noise
/// G, z = one_hot(argmax(log θ + G)) (so z ~ p_φ), and ζ̃ = softmax(z̃/τ) with z̃ drawn from the Gumbels conditioned
/// on the argmax being z (REBAR, Tucker et al. 2017, appendix): z̃_b = −log(−log v_b) for the chosen option b and
/// z̃_k = −log(−log v_k / θ_k − log v_b) for the others, v ~ U(0, 1), reparameterised in θ = softmax(φ). The estimate
/// is unbiased for any f; the closer f(ζ̃) tracks L(z), the lower its variance.
/// </para>
/// </summary>
public static class UnasGradientEstimator
{
    /// <summary>
    /// Draws <paramref name="samples"/> architectures and returns one gradient estimate per sample.
    /// </summary>
    /// <param name="logits">φ, [rows, options] (not modified; gradients are taken on a copy).</param>
    /// <param name="mask">Allowed options, [rows, options] (nonzero = allowed); every row needs one.</param>
    /// <param name="samples">Number of samples N.</param>
    /// <param name="loss">L on one-hot samples: [N, rows, options] → [N] (no gradient needed).</param>
    /// <param name="control">f on relaxed samples: [N, rows, options] → [N], differentiable; null for plain REINFORCE.</param>
    /// <param name="temperature">τ of the relaxations.</param>
    /// <param name="generator">Random source of the Gumbel and conditional noise.</param>
    public static UnasGradientSample Estimate(Tensor logits, Tensor mask, int samples, Func<Tensor, Tensor> loss,
        Func<Tensor, Tensor>? control, double temperature, Generator? generator)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(mask);
        ArgumentNullException.ThrowIfNull(loss);
        if (logits.dim() != 2 || !logits.shape.SequenceEqual(mask.shape))
            throw new ArgumentException($"logits must be [rows, options] and the mask the same shape; got [{string.Join(", ", logits.shape)}] and [{string.Join(", ", mask.shape)}].");
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "At least one sample.");
        if (!(temperature > 0)) throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "The temperature must be positive.");
        using var scope = NewDisposeScope();
        long R = logits.shape[0], O = logits.shape[1];
        var allowed = mask.to(ScalarType.Bool, logits.device).unsqueeze(0).expand(samples, R, O);
        if (!mask.to(ScalarType.Bool).any(1).all().item<bool>()) throw new ArgumentException("Every row needs at least one allowed option.", nameof(mask));
        // One copy of φ per sample, so that autograd returns each sample's own gradient.
        var phi = logits.detach().to(float64).unsqueeze(0).expand(samples, R, O).clone().requires_grad_(true);
        var logTheta = phi.masked_fill(allowed.logical_not(), double.NegativeInfinity).log_softmax(-1);
        var u = rand(new long[] { samples, R, O }, dtype: float64, generator: generator).to(logits.device).clamp(1e-12, 1 - 1e-12);
        var perturbed = logTheta - (-u.log()).log();
        var index = perturbed.argmax(-1, keepdim: true);
        var z = zeros_like(phi).scatter_(-1, index, ones_like(phi));
        var logp = (logTheta.masked_fill(allowed.logical_not(), 0) * z).sum(new long[] { 1, 2 });
        var lossZ = loss(z).to(float64).detach();
        if (lossZ.dim() != 1 || lossZ.shape[0] != samples) throw new ArgumentException($"loss must return [{samples}]; got [{string.Join(", ", lossZ.shape)}].");
        Tensor surrogate;
        if (control is null)
        {
            surrogate = (lossZ * logp).sum();
        }
        else
        {
            var zeta = (perturbed / temperature).softmax(-1);
            // Conditional Gumbels given the argmax (REBAR appendix), reparameterised in θ.
            var theta = logTheta.exp();
            var thetaSafe = theta.where(allowed, ones_like(theta));
            var v = rand(new long[] { samples, R, O }, dtype: float64, generator: generator).to(logits.device).clamp(1e-12, 1 - 1e-12);
            var logVb = v.log().gather(-1, index);
            var top = -(-logVb).log();
            var others = -((-v.log()) / thetaSafe - logVb).log();
            var zTilde = others.where(z.eq(0), top.expand_as(others)).masked_fill(allowed.logical_not(), double.NegativeInfinity);
            var zetaTilde = (zTilde / temperature).softmax(-1);
            var fZeta = control(zeta.to(logits.dtype)).to(float64);
            var fZetaTilde = control(zetaTilde.to(logits.dtype)).to(float64);
            if (fZeta.dim() != 1 || fZeta.shape[0] != samples) throw new ArgumentException($"control must return [{samples}]; got [{string.Join(", ", fZeta.shape)}].");
            surrogate = ((lossZ - fZetaTilde.detach()) * logp + fZeta - fZetaTilde).sum();
        }
        var grad = torch.autograd.grad(new[] { surrogate }, new[] { phi })[0].masked_fill(allowed.logical_not(), 0);
        return new UnasGradientSample(grad.detach().MoveToOuterDisposeScope(), lossZ.MoveToOuterDisposeScope(), z.detach().MoveToOuterDisposeScope());
    }

    /// <summary>The distribution's probabilities θ = softmax(φ) with masked options at 0, [rows, options].</summary>
    public static Tensor Probabilities(Tensor logits, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var p = logits.masked_fill(mask.to(ScalarType.Bool, logits.device).logical_not(), double.NegativeInfinity).softmax(-1);
        return p.MoveToOuterDisposeScope();
    }
}
