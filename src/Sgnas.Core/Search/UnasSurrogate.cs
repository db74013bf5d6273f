using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Search;

/// <summary>
/// The linear surrogate g of a non-differentiable cost (UNAS section 5: g(z) = Σ l_{i,j} z_{i,j}, trained by L2
/// regression on random architectures before the search, as in ProxylessNAS): g(z) = b + Σ_{r,o} w_{r,o} z_{r,o} over
/// the one-hot choice map z [rows, options]. Used by RELAX (UNAS Eq. 5) inside the control variate, on relaxed ζ.
/// </summary>
public sealed class UnasSurrogate
{
    private readonly double[] _weights;

    /// <summary>Intercept b.</summary>
    public double Intercept { get; }
    /// <summary>Coefficient of determination R² of the fit on its own data (1 = the cost is linear in z).</summary>
    public double RSquared { get; }
    /// <summary>Rows × options of the choice map.</summary>
    public (long Rows, long Options) Shape { get; }

    private UnasSurrogate(double intercept, double[] weights, double r2, (long, long) shape)
    {
        Intercept = intercept; _weights = weights; RSquared = r2; Shape = shape;
    }

    /// <summary>Weight of option <paramref name="option"/> in row <paramref name="row"/>.</summary>
    public double Weight(int row, int option) => _weights[row * Shape.Options + option];

    /// <summary>
    /// Fits g by ridge-stabilised least squares (ridge 1e-8 relative, so unused options get weight 0).
    /// </summary>
    /// <param name="choices">One-hot choice maps [M, rows, options].</param>
    /// <param name="costs">Their costs [M].</param>
    public static UnasSurrogate Fit(Tensor choices, double[] costs)
    {
        ArgumentNullException.ThrowIfNull(choices);
        ArgumentNullException.ThrowIfNull(costs);
        if (choices.dim() != 3 || choices.shape[0] != costs.Length)
            throw new ArgumentException($"choices must be [M, rows, options] with M = {costs.Length}; got [{string.Join(", ", choices.shape)}].");
        using var scope = NewDisposeScope();
        long m = choices.shape[0], rows = choices.shape[1], opts = choices.shape[2];
        var x = cat(new[] { ones(m, 1, dtype: float64), choices.to(float64).reshape(m, rows * opts) }, 1);
        var y = tensor(costs, dtype: float64).unsqueeze(1);
        var xtx = x.t().matmul(x);
        double ridge = 1e-8 * Math.Max(1, xtx.diagonal().max().item<double>());
        var beta = linalg.solve(xtx + eye(xtx.shape[0], dtype: float64) * ridge, x.t().matmul(y)).squeeze(1);
        var pred = x.matmul(beta.unsqueeze(1)).squeeze(1);
        var yy = y.squeeze(1);
        double ssRes = (yy - pred).pow(2).sum().item<double>(), ssTot = (yy - yy.mean()).pow(2).sum().item<double>();
        var b = beta.data<double>().ToArray();
        return new UnasSurrogate(b[0], b[1..], ssTot == 0 ? 1 : 1 - ssRes / ssTot, (rows, opts));
    }

    /// <summary>g on (relaxed or one-hot) maps [N, rows, options] → [N], differentiable.</summary>
    public Tensor Apply(Tensor zeta)
    {
        ArgumentNullException.ThrowIfNull(zeta);
        using var scope = NewDisposeScope();
        var w = tensor(_weights, new long[] { 1, Shape.Rows, Shape.Options }, dtype: float64).to(zeta.dtype, zeta.device);
        return ((zeta * w).sum(new long[] { 1, 2 }) + Intercept).MoveToOuterDisposeScope();
    }
}
