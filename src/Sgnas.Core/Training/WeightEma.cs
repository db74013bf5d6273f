using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Training;

/// <summary>
/// Exponential moving average of a network's weights, as the reference retraining script keeps (TF-style
/// <c>ExponentialMovingAverage</c>): after every optimizer step, shadow ← d·shadow + (1 − d)·w for every parameter,
/// with d = min(decay, (1 + n) / (10 + n)) after n updates (so early averages are not dominated by the initial
/// weights); buffers (BN running statistics) are copied. Evaluating the shadow weights smooths the last epochs' noise.
/// </summary>
public sealed class WeightEma : IDisposable
{
    private readonly List<(string Name, Tensor Shadow)> _parameters;
    private readonly List<(string Name, Tensor Shadow)> _buffers;

    /// <summary>Starts the average at the current weights of <paramref name="net"/>.</summary>
    /// <param name="net">The network being trained.</param>
    /// <param name="decay">Decay d in (0, 1), e.g. 0.9999.</param>
    /// <param name="updates">Updates already made (when resuming).</param>
    public WeightEma(nn.Module net, double decay, long updates = 0)
    {
        ArgumentNullException.ThrowIfNull(net);
        if (!(decay > 0 && decay < 1)) throw new ArgumentOutOfRangeException(nameof(decay), decay, "EMA decay must lie in (0, 1).");
        if (updates < 0) throw new ArgumentOutOfRangeException(nameof(updates), updates, "must be ≥ 0.");
        Decay = decay; Updates = updates;
        _parameters = net.named_parameters().Select(p => (p.name, p.parameter.detach().clone())).ToList();
        _buffers = net.named_buffers().Select(b => (b.name, b.buffer.detach().clone())).ToList();
    }

    /// <summary>The configured decay.</summary>
    public double Decay { get; }

    /// <summary>Number of updates so far.</summary>
    public long Updates { get; private set; }

    /// <summary>The decay used by the next update: min(decay, (1 + n) / (10 + n)).</summary>
    public double NextDecay => Math.Min(Decay, (1.0 + Updates) / (10.0 + Updates));

    /// <summary>Folds the current weights of <paramref name="net"/> into the average.</summary>
    public void Update(nn.Module net)
    {
        double d = NextDecay;
        using var _ = no_grad();
        var parameters = net.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        // Scalars held across the loop (HeldScalars: implicit temporaries can be freed during the native call).
        using var decay = d.ToScalar();
        using var rest = (1 - d).ToScalar();
        foreach (var (name, shadow) in _parameters)
            shadow.mul_(decay).add_(parameters[name].detach(), alpha: rest);
        var buffers = net.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, shadow) in _buffers) shadow.copy_(buffers[name]);
        Updates++;
    }

    /// <summary>Copies the averaged weights (and the latest buffers) into <paramref name="target"/>, a network of the same shape.</summary>
    public void CopyTo(nn.Module target)
    {
        using var _ = no_grad();
        var parameters = target.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, shadow) in _parameters) parameters[name].copy_(shadow);
        var buffers = target.named_buffers().ToDictionary(b => b.name, b => b.buffer);
        foreach (var (name, shadow) in _buffers) buffers[name].copy_(shadow);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, t) in _parameters) t.Dispose();
        foreach (var (_, t) in _buffers) t.Dispose();
    }
}
