namespace Sgnas.Generation;

/// <summary>
/// The inverse of a trained generator's response curve (docs/generator.md section 7). A generator maps its
/// constraint input c to an architecture whose exact cost is a step function of c: wide plateaus, small dips, and
/// levels that overshoot or undershoot c by a few per cent, because Eq. 10 prices a soft Gumbel sample while the user
/// receives its argmax. The calibration measures that function once, on a fine grid of inputs over the constraint
/// interval (extended a little on both sides so the smallest budgets have a level below them), and answers a budget
/// b with the input whose architecture costs the most without exceeding b (ties: the input nearest b). The answer is
/// still one forward pass of the generator, at the calibrated input, so the delivered architecture is one the
/// generator produces; what changes is that its cost follows the budget monotonically and from below.
/// </summary>
public sealed class ConstraintCalibration
{
    /// <summary>Grid inputs used by <see cref="ArchitectureGeneratorModel"/> (one batched generation).</summary>
    public const int DefaultPoints = 2048;

    /// <summary>Share of the interval width by which the grid extends past each end (within the feasible range).</summary>
    public const double DefaultExtension = 0.1;

    // Grid points sorted by (cost, input): a binary search finds the largest cost ≤ b, then the input nearest b among its ties.
    private readonly double[] _costs;
    private readonly double[] _inputs;

    private ConstraintCalibration(double[] costs, double[] inputs, double[] gridInputs, double[] gridCosts)
    {
        _costs = costs; _inputs = inputs; GridInputs = gridInputs; GridCosts = gridCosts;
    }

    /// <summary>The grid inputs, in the grid's order.</summary>
    public IReadOnlyList<double> GridInputs { get; }

    /// <summary>The cost at each grid input, in the grid's order (what <c>generator.json</c> stores).</summary>
    public IReadOnlyList<double> GridCosts { get; }

    /// <summary>Number of grid points.</summary>
    public int Points => _costs.Length;

    /// <summary>Number of distinct costs the generator produced over the grid (its resolution).</summary>
    public int Levels { get; private init; }

    /// <summary>Lowest and highest cost the generator produced over the grid.</summary>
    public (double Min, double Max) CostRange => (_costs[0], _costs[^1]);

    /// <summary>The grid inputs for an interval: <paramref name="points"/> evenly spaced over it, extended by
    /// <paramref name="extension"/> of its width past each end and clipped to <paramref name="feasible"/>.</summary>
    public static double[] Grid(double low, double high, (double Min, double Max) feasible, int points = DefaultPoints, double extension = DefaultExtension)
    {
        if (!(high > low)) throw new ArgumentException($"constraint interval [{low}, {high}] is empty.");
        if (points < 2) throw new ArgumentOutOfRangeException(nameof(points), points, "a calibration needs at least 2 grid points.");
        if (!(extension >= 0) || !double.IsFinite(extension)) throw new ArgumentOutOfRangeException(nameof(extension), extension, "must be ≥ 0.");
        double w = high - low, a = Math.Max(feasible.Min, low - extension * w), b = Math.Min(feasible.Max, high + extension * w);
        return Enumerable.Range(0, points).Select(i => a + (b - a) * i / (points - 1)).ToArray();
    }

    /// <summary>A calibration from grid inputs and the exact cost of the architecture generated at each.</summary>
    /// <exception cref="ArgumentException">Lengths differ, no points, or a value is not finite.</exception>
    public static ConstraintCalibration FromGrid(IReadOnlyList<double> inputs, IReadOnlyList<double> costs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(costs);
        if (inputs.Count != costs.Count) throw new ArgumentException($"{inputs.Count} grid inputs but {costs.Count} costs.");
        if (inputs.Count == 0) throw new ArgumentException("a calibration needs at least one grid point.");
        for (int i = 0; i < inputs.Count; i++)
            if (!double.IsFinite(inputs[i]) || !double.IsFinite(costs[i]))
                throw new ArgumentException($"grid point {i}: input {inputs[i]}, cost {costs[i]} (both must be finite).");
        var order = Enumerable.Range(0, inputs.Count).OrderBy(i => costs[i]).ThenBy(i => inputs[i]).ToArray();
        return new ConstraintCalibration(order.Select(i => costs[i]).ToArray(), order.Select(i => inputs[i]).ToArray(), inputs.ToArray(), costs.ToArray())
        {
            Levels = costs.Distinct().Count(),
        };
    }

    /// <summary>
    /// The generator input for budget <paramref name="target"/>: among grid inputs whose architecture costs at most
    /// the budget, one of the highest cost (the nearest to the budget among those); when every level exceeds the
    /// budget, an input of the lowest level (the hard limit, if asked, repairs it).
    /// </summary>
    public double InputFor(double target)
    {
        // Last index with cost ≤ target (−1 when none); a level's entries are contiguous (sorted by cost, then input).
        int lo = 0, hi = _costs.Length - 1, last = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (_costs[mid] <= target) { last = mid; lo = mid + 1; } else hi = mid - 1;
        }
        // No level fits: the lowest level, up to its last entry.
        int end = last;
        if (end < 0) for (end = 0; end + 1 < _costs.Length && _costs[end + 1] == _costs[0]; end++) { }
        // Back over the level's entries; "≤" keeps the lowest input among equally near ones.
        int best = end;
        for (int i = end - 1; i >= 0 && _costs[i] == _costs[end]; i--)
            if (Math.Abs(_inputs[i] - target) <= Math.Abs(_inputs[best] - target)) best = i;
        return _inputs[best];
    }
}
