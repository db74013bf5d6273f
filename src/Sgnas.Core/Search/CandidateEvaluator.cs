using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Distributed;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Search;

/// <summary>
/// How candidates are scored: the same protocol for every strategy (random, evolution, generator), so their
/// accuracies compare. Defaults are sized for the small presets on a CPU; SPOS recalibrates on 20 000 ImageNet
/// images (section 3.4).
/// </summary>
public sealed record CandidateEvaluatorOptions
{
    /// <summary>Default number of training images used to recalibrate BN statistics.</summary>
    public const int DefaultRecalibrationImages = 1024;

    /// <summary>Default size of the fixed validation subset.</summary>
    public const int DefaultValidationImages = 2000;

    /// <summary>Training images forwarded to recalibrate BN statistics (fewer if the split has fewer).</summary>
    public int RecalibrationImages { get; init; } = DefaultRecalibrationImages;

    /// <summary>Validation images each candidate is scored on (a fixed subset); 0 uses the whole validation split.</summary>
    public int ValidationImages { get; init; } = DefaultValidationImages;

    /// <summary>Images per forward pass, for recalibration and validation.</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Seed choosing the recalibration and validation subsets.</summary>
    public int Seed { get; init; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the option out of range.</summary>
    public void Validate()
    {
        if (RecalibrationImages <= 0) throw new ArgumentOutOfRangeException(nameof(RecalibrationImages), RecalibrationImages, "must be positive.");
        if (ValidationImages < 0) throw new ArgumentOutOfRangeException(nameof(ValidationImages), ValidationImages, "must be ≥ 0 (0 = whole validation split).");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be positive.");
    }
}

/// <summary>Score of one candidate with inherited supernet weights after BN recalibration.</summary>
/// <param name="Architecture">The canonical architecture.</param>
/// <param name="FlopsM">FLOPs (MACs) in M, Eq. 9 lookup table (exact for discrete architectures).</param>
/// <param name="ValTop1">Top-1 accuracy on the validation subset, in [0, 1].</param>
/// <param name="ValLoss">Mean cross-entropy on the validation subset.</param>
/// <param name="Seconds">Wall time of recalibration plus validation.</param>
public sealed record CandidateResult(Architecture Architecture, double FlopsM, double ValTop1, double ValLoss, double Seconds);

/// <summary>
/// Fixed image tensors of the evaluation protocol, built once on the device: a training subset for BN
/// recalibration and a validation subset for scoring.
/// </summary>
public sealed class EvaluationData : IDisposable
{
    private readonly List<Tensor> _recalibration;
    private readonly List<(Tensor Images, Tensor Labels)> _validation;

    private EvaluationData(List<Tensor> recalibration, List<(Tensor, Tensor)> validation, int recalibrationCount, int validationCount)
    {
        _recalibration = recalibration; _validation = validation;
        RecalibrationCount = recalibrationCount; ValidationCount = validationCount;
    }

    /// <summary>Recalibration batches [N, C, H, W].</summary>
    public IReadOnlyList<Tensor> RecalibrationBatches => _recalibration;

    /// <summary>Validation batches (images [N, C, H, W], labels int64 [N]).</summary>
    public IReadOnlyList<(Tensor Images, Tensor Labels)> ValidationBatches => _validation;

    /// <summary>Number of recalibration images.</summary>
    public int RecalibrationCount { get; }

    /// <summary>Number of validation images.</summary>
    public int ValidationCount { get; }

    /// <summary>
    /// Draws the subsets: a seeded shuffle of <paramref name="trainIndices"/> (first
    /// <see cref="CandidateEvaluatorOptions.RecalibrationImages"/>) and of <paramref name="validationIndices"/>
    /// (first <see cref="CandidateEvaluatorOptions.ValidationImages"/>, or all).
    /// </summary>
    /// <exception cref="ArgumentException">An index list is empty.</exception>
    public static EvaluationData Create(ImageDataset data, int[] trainIndices, int[] validationIndices,
        ChannelNormalization normalization, CandidateEvaluatorOptions options, Device device)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (trainIndices.Length == 0) throw new ArgumentException("no training images for BN recalibration.", nameof(trainIndices));
        if (validationIndices.Length == 0) throw new ArgumentException("no validation images to score candidates on.", nameof(validationIndices));
        var random = new Random(SeedMix.Mix(options.Seed, 0, 7));
        var recal = Take(trainIndices, options.RecalibrationImages, random);
        int nVal = options.ValidationImages == 0 ? validationIndices.Length : options.ValidationImages;
        // Validation order does not matter for the score; sorting keeps the subset readable in logs.
        var val = Take(validationIndices, nVal, random).OrderBy(i => i).ToArray();

        var recalBatches = new List<Tensor>();
        var valBatches = new List<(Tensor, Tensor)>();
        try
        {
            for (int s = 0; s < recal.Length; s += options.BatchSize)
            {
                using var b = data.ToBatch(recal.AsSpan(s, Math.Min(options.BatchSize, recal.Length - s)), normalization, device);
                recalBatches.Add(b.Images.detach().clone());
            }
            for (int s = 0; s < val.Length; s += options.BatchSize)
            {
                using var b = data.ToBatch(val.AsSpan(s, Math.Min(options.BatchSize, val.Length - s)), normalization, device);
                valBatches.Add((b.Images.detach().clone(), b.Labels.detach().clone()));
            }
        }
        catch
        {
            foreach (var t in recalBatches) t.Dispose();
            foreach (var (x, y) in valBatches) { x.Dispose(); y.Dispose(); }
            throw;
        }
        return new EvaluationData(recalBatches, valBatches, recal.Length, val.Length);
    }

    private static int[] Take(int[] indices, int n, Random random)
    {
        var order = indices.ToArray();
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order.Take(Math.Min(n, order.Length)).ToArray();
    }

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in _recalibration) t.Dispose();
        foreach (var (x, y) in _validation) { x.Dispose(); y.Dispose(); }
        _recalibration.Clear(); _validation.Clear();
    }
}

/// <summary>
/// Scores architectures with weights inherited from a trained supernet: BN recalibration on the fixed training
/// subset (<see cref="BnRecalibration"/>), then top-1 and loss on the fixed validation subset. Results are cached by
/// canonical architecture, so a strategy that proposes the same network twice pays once. Not thread-safe: the
/// supernet's BN statistics are the candidate's state while it is scored.
/// </summary>
public sealed class CandidateEvaluator : IDisposable
{
    private readonly Supernet _net;
    private readonly EvaluationData _data;
    private readonly bool _ownsData;
    private readonly FlopsLookupTable _table;
    private readonly Dictionary<Architecture, CandidateResult> _cache = new();

    /// <summary>Creates an evaluator.</summary>
    /// <param name="net">Trained supernet; its parameters are never changed, its BN statistics are.</param>
    /// <param name="data">The fixed image subsets, on the supernet's device.</param>
    /// <param name="ownsData">Dispose <paramref name="data"/> with the evaluator.</param>
    public CandidateEvaluator(Supernet net, EvaluationData data, bool ownsData = true)
    {
        _net = net ?? throw new ArgumentNullException(nameof(net));
        _data = data ?? throw new ArgumentNullException(nameof(data));
        _ownsData = ownsData;
        _table = new FlopsLookupTable(net.Preset);
    }

    /// <summary>The supernet candidates are drawn from.</summary>
    public Supernet Supernet => _net;

    /// <summary>The search space of the supernet.</summary>
    public SearchSpacePreset Preset => _net.Preset;

    /// <summary>Eq. 9 lookup table of the preset.</summary>
    public FlopsLookupTable Table => _table;

    /// <summary>The evaluation images.</summary>
    public EvaluationData Data => _data;

    /// <summary>Candidates actually scored (cache misses) since creation.</summary>
    public int Evaluations { get; private set; }

    /// <summary>Calls to <see cref="Evaluate"/> since creation, including cache hits.</summary>
    public int Requests { get; private set; }

    /// <summary>Number of cached results.</summary>
    public int CachedCount => _cache.Count;

    /// <summary>Forgets cached results (a new search then pays for every candidate again, as a fresh run would).</summary>
    public void ClearCache() => _cache.Clear();

    /// <summary>Scores <paramref name="arch"/> (canonicalised), from the cache when seen before.</summary>
    /// <exception cref="ArgumentException">The architecture does not fit the supernet's preset.</exception>
    public CandidateResult Evaluate(Architecture arch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(arch);
        arch.Validate(Preset);
        var key = arch.Canonical();
        Requests++;
        if (_cache.TryGetValue(key, out var hit)) return hit;
        cancellationToken.ThrowIfCancellationRequested();

        var result = Score(key);
        _cache[key] = result;
        Evaluations++;
        return result;
    }

    private CandidateResult Score(Architecture key)
    {
        var clock = Stopwatch.StartNew();
        BnRecalibration.Recalibrate(_net, key, _data.RecalibrationBatches);
        var (top1, loss) = Validate(images => _net.Forward(images, key));
        return new CandidateResult(key, _table.CostM(key), top1, loss, clock.Elapsed.TotalSeconds);
    }

    /// <summary>True when <paramref name="arch"/> has a cached score.</summary>
    public bool IsCached(Architecture arch) => _cache.ContainsKey(arch.Canonical());

    /// <summary>
    /// Scores every architecture of <paramref name="archs"/> (results in the same order, as <see cref="Evaluate"/>
    /// would return them one by one). Under MPI the uncached ones are spread over the ranks of
    /// <see cref="Cluster.World"/> and the scores gathered, so every rank returns the same list (docs/distributed.md §5);
    /// each rank's evaluator recalibrates BN per candidate from the same images, so a score does not depend on the rank.
    /// </summary>
    public IReadOnlyList<CandidateResult> EvaluateMany(IReadOnlyList<Architecture> archs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(archs);
        var comm = Cluster.World;
        if (comm.Size == 1) return archs.Select(a => Evaluate(a, cancellationToken)).ToArray();
        foreach (var a in archs) a.Validate(Preset);
        var keys = archs.Select(a => a.Canonical()).ToArray();
        var todo = keys.Where(k => !_cache.ContainsKey(k)).Distinct().ToArray();
        cancellationToken.ThrowIfCancellationRequested();
        var scores = CandidateScatter.Map(todo.Length, 3, i =>
        {
            var r = Score(todo[i]);
            return [r.ValTop1, r.ValLoss, r.Seconds];
        }, comm);
        for (int i = 0; i < todo.Length; i++)
            _cache[todo[i]] = new CandidateResult(todo[i], _table.CostM(todo[i]), scores[i][0], scores[i][1], scores[i][2]);
        Evaluations += todo.Length;
        Requests += keys.Length;
        return keys.Select(k => _cache[k]).ToArray();
    }

    /// <summary>
    /// Scores the positional supernet path <paramref name="path"/> with the same protocol (BN recalibration on the
    /// path, then top-1 and loss on the validation subset). This is how a generated architecture is scored: on the
    /// path the generator's relaxed forward optimised (docs/generator.md). The result names the path's canonical
    /// architecture. A path that is the canonical prefix path of its architecture goes through <see cref="Evaluate"/>
    /// (and its cache); other paths are scored afresh.
    /// </summary>
    /// <exception cref="ArgumentException">The path belongs to another preset.</exception>
    public CandidateResult EvaluatePath(SupernetPath path, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Preset.ToJson() != Preset.ToJson())
            throw new ArgumentException($"path of preset '{path.Preset.Name}' does not fit supernet '{Preset.Name}'.", nameof(path));
        var arch = path.ToArchitecture();
        if (path.Equals(SupernetPath.FromArchitecture(Preset, arch))) return Evaluate(arch, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        Requests++;
        var clock = Stopwatch.StartNew();
        BnRecalibration.Recalibrate(_net, path, _data.RecalibrationBatches);
        var (top1, loss) = Validate(images => _net.ForwardPath(images, path));
        Evaluations++;
        return new CandidateResult(arch, _table.CostM(arch), top1, loss, clock.Elapsed.TotalSeconds);
    }

    /// <summary>Top-1 and mean cross-entropy of <paramref name="forward"/> over the validation subset.</summary>
    private (double Top1, double Loss) Validate(Func<Tensor, Tensor> forward)
    {
        long correct = 0; double lossSum = 0;
        using (no_grad())
        {
            foreach (var (images, labels) in _data.ValidationBatches)
            {
                using var scope = NewDisposeScope();
                var logits = forward(images);
                lossSum += F.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
                correct += logits.argmax(1).eq(labels).sum().item<long>();
            }
        }
        return ((double)correct / _data.ValidationCount, lossSum / _data.ValidationCount);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsData) _data.Dispose();
    }
}
