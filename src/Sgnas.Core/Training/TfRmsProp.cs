using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Training;

/// <summary>An optimizer whose learning rate is given per step and whose state can be checkpointed.</summary>
internal interface IRetrainOptimizer : IDisposable
{
    void ZeroGrad();
    void Step(double learningRate);
    void Save(Stream stream);
    void Load(Stream stream);
}

/// <summary>
/// RMSProp with TensorFlow's semantics (<c>tf.compat.v1.train.RMSPropOptimizer</c>, used by the MnasNet/EfficientNet
/// recipes whose settings the paper's retraining adopts):
/// <code>
/// ms  ← α·ms + (1 − α)·g²            (ms starts at 1, not 0)
/// mom ← μ·mom + lr·g / √(ms + ε)     (ε inside the root; the rate enters the momentum buffer)
/// p   ← p − mom
/// </code>
/// PyTorch's (and TorchSharp's) <c>RMSprop</c> starts ms at 0 and adds ε outside the root, so with the TF constants
/// (α 0.9, ε 1e-3, lr 0.16) its first steps move every weight by about lr/√(1−α) ≈ 3·lr and training diverges; timm's
/// <c>RMSpropTF</c> exists for the same reason.
/// </summary>
public sealed class TfRmsProp : IDisposable
{
    private const string Magic = "SGNAS-TFRMSPROP-1";
    private readonly Parameter[] _params;
    private readonly Tensor[] _ms;
    private readonly Tensor[] _mom;
    private readonly double _alpha, _eps, _momentum;

    /// <summary>Creates the optimizer over <paramref name="parameters"/>.</summary>
    /// <param name="parameters">Trainable parameters.</param>
    /// <param name="alpha">Smoothing of the squared-gradient average (TF <c>decay</c>; reference 0.9).</param>
    /// <param name="eps">Added to the average inside the square root (reference 1e-3).</param>
    /// <param name="momentum">Momentum (paper 0.9).</param>
    public TfRmsProp(IEnumerable<Parameter> parameters, double alpha = 0.9, double eps = 1e-3, double momentum = 0.9)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (!(alpha > 0 && alpha < 1)) throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must lie in (0, 1).");
        if (!(eps > 0)) throw new ArgumentOutOfRangeException(nameof(eps), eps, "eps must be positive.");
        if (!(momentum >= 0 && momentum < 1)) throw new ArgumentOutOfRangeException(nameof(momentum), momentum, "momentum must lie in [0, 1).");
        _params = parameters.ToArray();
        _alpha = alpha; _eps = eps; _momentum = momentum;
        using var _ = no_grad();
        _ms = _params.Select(p => ones_like(p).DetachFromDisposeScope()).ToArray();
        _mom = _params.Select(p => zeros_like(p).DetachFromDisposeScope()).ToArray();
    }

    /// <summary>Zeroes the gradients of all parameters.</summary>
    public void ZeroGrad()
    {
        foreach (var p in _params) p.grad?.zero_();
    }

    /// <summary>One update with learning rate <paramref name="learningRate"/>; parameters without a gradient are skipped.</summary>
    public void Step(double learningRate)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        // Scalars held for the whole step (HeldScalars: implicit temporaries can be freed during the native call).
        using var alpha = _alpha.ToScalar();
        using var oneMinusAlpha = (1 - _alpha).ToScalar();
        using var eps = _eps.ToScalar();
        using var momentum = _momentum.ToScalar();
        using var lr = learningRate.ToScalar();
        using var one = 1.0.ToScalar(); // add(Scalar) would make its alpha a temporary
        for (int i = 0; i < _params.Length; i++)
        {
            var g = _params[i].grad;
            if (g is null) continue;
            _ms[i].mul_(alpha).addcmul_(g, g, oneMinusAlpha);
            var denom = _ms[i].add(eps, one).sqrt_();
            _mom[i].mul_(momentum).addcdiv_(g, denom, lr);
            _params[i].sub_(_mom[i]);
        }
    }

    /// <summary>Writes the two state tensors of every parameter (float32, parameter order).</summary>
    public void Save(Stream stream)
    {
        using var scope = NewDisposeScope();
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(_params.Length);
        for (int i = 0; i < _params.Length; i++)
        {
            foreach (var t in new[] { _ms[i], _mom[i] })
            {
                var data = t.detach().cpu().to_type(ScalarType.Float32).data<float>().ToArray();
                w.Write(data.Length);
                foreach (var v in data) w.Write(v);
            }
        }
    }

    /// <summary>Reads state written by <see cref="Save"/> for the same parameters.</summary>
    /// <exception cref="InvalidDataException">Not such a file, or written for other parameters.</exception>
    public void Load(Stream stream)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        string magic;
        try { magic = r.ReadString(); }
        catch (Exception e) when (e is EndOfStreamException or IOException) { throw new InvalidDataException("not a TF-style RMSProp state (file too short).", e); }
        if (magic != Magic) throw new InvalidDataException($"not a TF-style RMSProp state (header '{magic}').");
        int n = r.ReadInt32();
        if (n != _params.Length) throw new InvalidDataException($"state holds {n} parameters; the network has {_params.Length}.");
        using var _ = no_grad();
        for (int i = 0; i < n; i++)
        {
            foreach (var t in new[] { _ms[i], _mom[i] })
            {
                int len = r.ReadInt32();
                if (len != t.numel()) throw new InvalidDataException($"parameter {i}: state has {len} values; the parameter has {t.numel()}.");
                var data = new float[len];
                for (int k = 0; k < len; k++) data[k] = r.ReadSingle();
                using var src = tensor(data, t.shape);
                t.copy_(src);
            }
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _ms) t.Dispose();
        foreach (var t in _mom) t.Dispose();
    }
}

/// <summary><see cref="TfRmsProp"/> behind <see cref="IRetrainOptimizer"/>.</summary>
internal sealed class TfRmsPropAdapter(TfRmsProp inner) : IRetrainOptimizer
{
    public void ZeroGrad() => inner.ZeroGrad();
    public void Step(double learningRate) => inner.Step(learningRate);
    public void Save(Stream stream) => inner.Save(stream);
    public void Load(Stream stream) => inner.Load(stream);
    public void Dispose() => inner.Dispose();
}

/// <summary>A TorchSharp optimizer (SGD) behind <see cref="IRetrainOptimizer"/>.</summary>
internal sealed class TorchOptimizerAdapter(OptimizerHelper inner) : IRetrainOptimizer
{
    public void ZeroGrad() => inner.zero_grad();

    public void Step(double learningRate)
    {
        foreach (var g in inner.ParamGroups) g.LearningRate = learningRate;
        inner.step();
    }

    public void Save(Stream stream)
    {
        using var w = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        inner.save_state_dict(w);
    }

    public void Load(Stream stream)
    {
        using var r = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        inner.load_state_dict(r);
    }

    public void Dispose() => inner.Dispose();
}
