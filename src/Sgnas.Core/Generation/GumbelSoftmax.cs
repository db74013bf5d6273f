using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Generation;

/// <summary>
/// The Gumbel-softmax relaxation of SGNAS Eq. 2 (paper section 3.1; docs/design.md §4), applied per sub-block over
/// its options {k3, k5, k7, skip}: m = softmax((α + g) / τ) with g ~ Gumbel(0, 1), the form of
/// <c>torch.nn.functional.gumbel_softmax</c> used by the reference code (the paper typesets α + g/τ; the reference's
/// form is the standard one of Jang et al.). Options a sub-block may not take under forced sampling (skip for the
/// first <c>MinExpansion</c> sub-blocks, <see cref="ForcedSampling.OptionMask"/>) get weight exactly 0.
/// With <c>hard</c>, the forward value is the one-hot argmax and gradients are those of the soft weights
/// (straight-through estimator).
/// </summary>
public static class GumbelSoftmax
{
    /// <summary>Initial temperature τ₀ (paper appendix A.3).</summary>
    public const double PaperInitialTemperature = 5.0;

    /// <summary>Per-epoch temperature decay factor (paper appendix A.3).</summary>
    public const double PaperTemperatureDecay = 0.95;

    /// <summary>Temperature of 0-based epoch <paramref name="epoch"/>: τ₀ · decay^epoch (paper appendix A.3).</summary>
    public static double Temperature(int epoch, double initial = PaperInitialTemperature, double decay = PaperTemperatureDecay)
    {
        if (epoch < 0) throw new ArgumentOutOfRangeException(nameof(epoch), epoch, "epoch must be ≥ 0.");
        if (!(initial > 0)) throw new ArgumentOutOfRangeException(nameof(initial), initial, "initial temperature must be positive.");
        if (!(decay > 0 && decay <= 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "temperature decay must lie in (0, 1].");
        return initial * Math.Pow(decay, epoch);
    }

    /// <summary>
    /// Gumbel(0, 1) noise g = −log(−log u), u ~ U(0, 1) drawn from <paramref name="generator"/> (so that runs and tests
    /// are reproducible), u clamped away from 0 and 1 to keep g finite.
    /// </summary>
    public static Tensor Noise(long[] shape, torch.Generator? generator, Device? device = null, ScalarType dtype = ScalarType.Float32)
    {
        using var scope = NewDisposeScope();
        // Draw on the CPU with the CPU generator, then move: identical noise on every device for one seed.
        var u = rand(shape, dtype: dtype, generator: generator).clamp(1e-10, 1 - 1e-7);
        var g = -(-u.log()).log();
        return (device is null ? g : g.to(device)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Option mask of a preset as a tensor of shape [e_max, options] (1 allowed, 0 forbidden), broadcastable over
    /// [..., layers, e_max, options].
    /// </summary>
    public static Tensor Mask(SearchSpacePreset preset, Device? device = null) =>
        tensor(ForcedSampling.OptionMask(preset), new long[] { preset.MaxExpansion, preset.OptionCount }, device: device);

    /// <summary>
    /// Relaxed weights m of Eq. 2 over the last dimension of <paramref name="alpha"/>.
    /// </summary>
    /// <param name="alpha">Architecture logits [..., e_max, options] (e.g. [N, L, 6, 4] from the generator).</param>
    /// <param name="temperature">τ &gt; 0.</param>
    /// <param name="mask">Allowed options, broadcastable to <paramref name="alpha"/> (see <see cref="Mask"/>); null allows all.</param>
    /// <param name="noise">Gumbel noise of <paramref name="alpha"/>'s shape; null means no noise (plain softmax of α/τ).</param>
    /// <param name="hard">Straight-through: one-hot forward, soft gradients.</param>
    public static Tensor Relax(Tensor alpha, double temperature, Tensor? mask, Tensor? noise, bool hard = false)
    {
        if (!(temperature > 0) || !double.IsFinite(temperature))
            throw new ArgumentOutOfRangeException(nameof(temperature), temperature, "Gumbel-softmax temperature must be positive and finite.");
        if (noise is not null && !noise.shape.SequenceEqual(alpha.shape))
            throw new ArgumentException($"noise shape [{string.Join(", ", noise.shape)}] differs from α shape [{string.Join(", ", alpha.shape)}].", nameof(noise));
        using var scope = NewDisposeScope();
        var logits = noise is null ? alpha : alpha + noise;
        logits = logits / temperature;
        if (mask is not null) logits = logits.masked_fill(mask.to(alpha.device).eq(0), float.NegativeInfinity);
        var soft = logits.softmax(-1);
        if (!hard) return soft.MoveToOuterDisposeScope();
        var index = soft.argmax(-1, keepdim: true);
        var oneHot = zeros_like(soft).scatter_(-1, index, ones_like(soft));
        return (oneHot - soft.detach() + soft).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Eq. 2 with fresh noise: <see cref="Relax"/> of <paramref name="alpha"/> with Gumbel noise drawn from
    /// <paramref name="generator"/> and the preset's forced-sampling mask.
    /// </summary>
    public static Tensor Sample(Tensor alpha, double temperature, SearchSpacePreset preset, torch.Generator? generator, bool hard = false)
    {
        using var scope = NewDisposeScope();
        var g = Noise(alpha.shape, generator, alpha.device, alpha.dtype);
        var m = Relax(alpha, temperature, Mask(preset, alpha.device), g, hard);
        return m.MoveToOuterDisposeScope();
    }
}
