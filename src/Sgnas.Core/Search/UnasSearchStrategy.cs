using System.Diagnostics;
using System.Globalization;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Search;

/// <summary>
/// UNAS (Vahdat et al., CVPR 2020) as a search strategy on the frozen supernet (docs/unas.md). Per budget it learns a
/// factorised categorical distribution p_φ(z) over the options {kernels…, skip} of every sub-block of every layer
/// (skip masked for the first e_min sub-blocks, as in forced sampling), by Adam on the logits φ with the UNAS
/// gradient estimator (<see cref="UnasGradientEstimator"/>) of
/// <para>
/// E_{p_φ(z)}[ L_d(z) + λ_c·P(cost(z) / budget) ],  P(r) = (r − 1)² + κ·max(0, r − 1),
/// </para>
/// where L_d is the supernet's validation cross-entropy (UNAS Eq. 6) or the generalisation loss (Eq. 8), evaluated
/// through the relaxed supernet forward (the same function on one-hot z and on relaxed ζ, so the REBAR control
/// variate of Eq. 3 tracks it), and the cost is a black box (FLOPs, a latency table, or measured latency) handled by
/// RELAX (Eq. 5) with a linear surrogate g fitted on random architectures before the search. The output is the most
/// probable positional path (per sub-block argmax, in place: the path whose one-hot map the relaxed forward
/// optimised), scored on that path by the common protocol (<see cref="CandidateEvaluator.EvaluatePath"/>), as the
/// generator's picks are (docs/generator.md); its architecture is the active sub-blocks' kernels. It re-runs per
/// budget, so each budget pays its full search time.
/// </summary>
/// <remarks>
/// During the search the supernet's BNs use the statistics of each mini-batch (train mode, running statistics left
/// untouched), so the losses do not depend on which candidate the evaluator recalibrated last; its parameters are
/// frozen. Both are restored afterwards.
/// </remarks>
public sealed class UnasSearchStrategy : ISearchStrategy, IDisposable
{
    private readonly CandidateEvaluator _evaluator;
    private readonly UnasData _data;
    private readonly bool _ownsData;
    private readonly UnasCost _cost;
    private readonly Dictionary<Architecture, double> _costCache = new();

    /// <summary>Creates the strategy.</summary>
    /// <param name="evaluator">Scores the final pick; its supernet is the one searched.</param>
    /// <param name="data">Labelled batches for the losses (disposed with the strategy when <paramref name="ownsData"/>).</param>
    /// <param name="options">Search options.</param>
    /// <param name="cost">The constrained cost; null for FLOPs (Eq. 9).</param>
    /// <param name="ownsData">Dispose <paramref name="data"/> with the strategy.</param>
    public UnasSearchStrategy(CandidateEvaluator evaluator, UnasData data, UnasOptions? options = null, UnasCost? cost = null, bool ownsData = false)
        : this(evaluator, data, options, cost, null, ownsData)
    {
    }

    /// <summary>Creates the strategy for a budget of any <see cref="ConstraintKind"/> (docs/latency.md).</summary>
    /// <param name="evaluator">Scores the final pick; its supernet is the one searched.</param>
    /// <param name="data">Labelled batches for the losses (disposed with the strategy when <paramref name="ownsData"/>).</param>
    /// <param name="options">Search options.</param>
    /// <param name="cost">What a budget limits: FLOPs, latency from a table, or measured latency (UNAS treats it as a black box).</param>
    /// <param name="ownsData">Dispose <paramref name="data"/> with the strategy.</param>
    public UnasSearchStrategy(CandidateEvaluator evaluator, UnasData data, UnasOptions? options, ConstraintCost cost, bool ownsData = false)
        : this(evaluator, data, options, UnasCost.From(cost ?? throw new ArgumentNullException(nameof(cost))), cost, ownsData)
    {
    }

    private UnasSearchStrategy(CandidateEvaluator evaluator, UnasData data, UnasOptions? options, UnasCost? cost, ConstraintCost? constraint, bool ownsData)
    {
        _evaluator = evaluator ?? throw new ArgumentNullException(nameof(evaluator));
        _data = data ?? throw new ArgumentNullException(nameof(data));
        Options = options ?? new UnasOptions();
        Options.Validate();
        _cost = cost ?? UnasCost.Flops(evaluator.Table);
        _ownsData = ownsData;
        _kind = constraint?.Kind ?? (_cost.Name == ConstraintKinds.Name(ConstraintKind.Latency) ? ConstraintKind.Latency : ConstraintKind.Flops);
    }

    private readonly ConstraintKind _kind;

    /// <summary>
    /// The strategy on a <see cref="SearchSession"/>: reads the supernet's training split again for labelled batches
    /// (up to 2048 training and 2048 validation images).
    /// </summary>
    public static UnasSearchStrategy FromSession(SearchSession session, UnasOptions? options = null, UnasCost? cost = null) =>
        FromSession(session, options, cost, null);

    /// <summary>The strategy on a <see cref="SearchSession"/> for budgets of <paramref name="cost"/>'s kind (e.g. ms from a latency table).</summary>
    public static UnasSearchStrategy FromSession(SearchSession session, UnasOptions? options, ConstraintCost cost) =>
        FromSession(session, options, UnasCost.From(cost ?? throw new ArgumentNullException(nameof(cost))), cost);

    private static UnasSearchStrategy FromSession(SearchSession session, UnasOptions? options, UnasCost? cost, ConstraintCost? constraint)
    {
        ArgumentNullException.ThrowIfNull(session);
        options ??= new UnasOptions();
        options.Validate();
        var p = session.Supernet.Preset;
        // As SearchSession: image folders decoded at the preset's input size.
        var data = DatasetLoader.Load(session.Split.DatasetPath, DatasetSplit.Train, CifarLabelKind.Fine, (p.InputChannels, p.InputSize));
        var norm = new ChannelNormalization(p.Mean.ToArray(), p.Std.ToArray());
        var batches = UnasData.Create(data, session.Split.Indices(data), norm, options.ImagesPerSample, 2048, options.Seed, session.Device);
        return new UnasSearchStrategy(session.Evaluator, batches, options, cost, constraint, ownsData: true);
    }

    /// <inheritdoc />
    public string Name => "unas";

    /// <summary>The options.</summary>
    public UnasOptions Options { get; }

    /// <summary>The surrogate g of the last search (null before the first).</summary>
    public UnasSurrogate? LastSurrogate { get; private set; }

    /// <summary>Per-step mean loss L(z) of the last search.</summary>
    public IReadOnlyList<double> LastLossHistory { get; private set; } = Array.Empty<double>();

    /// <inheritdoc />
    public SearchResult Search(double targetFlopsM, CancellationToken cancellationToken = default, IProgress<TrainingProgress>? progress = null)
    {
        if (!(targetFlopsM > 0)) throw new ArgumentOutOfRangeException(nameof(targetFlopsM), targetFlopsM, "The budget must be positive.");
        var clock = Stopwatch.StartNew();
        _evaluator.ClearCache();
        var preset = _evaluator.Preset;
        int L = preset.LayerCount, S = preset.MaxExpansion, O = preset.OptionCount;
        var mask = RowMask(preset);
        var generator = new Generator((ulong)TunerSearchStrategy.SeedFor(Options.Seed, targetFlopsM) & 0x7fffffff);
        string stage = $"{Name} <= {targetFlopsM.ToString("0.###", CultureInfo.InvariantCulture)} {_cost.Unit}";

        // g: a linear surrogate of the cost, fitted on random architectures from the initial (uniform) distribution.
        {
            var rng = new Random(TunerSearchStrategy.SeedFor(Options.Seed, targetFlopsM));
            var maskValues = ForcedSampling.OptionMask(preset);
            int n = Options.SurrogateArchitectures;
            var maps = new double[n * L * S * O];
            var costs = new double[n];
            for (int a = 0; a < n; a++)
            {
                var layers = new List<LayerChoice>(L);
                for (int i = 0; i < L; i++)
                {
                    var kernels = new List<int>(S);
                    for (int j = 0; j < S; j++)
                    {
                        var allowed = Enumerable.Range(0, O).Where(o => maskValues[j * O + o] > 0).ToArray();
                        int o = allowed[rng.Next(allowed.Length)];
                        maps[((a * L + i) * S + j) * O + o] = 1;
                        if (o != preset.SkipIndex) kernels.Add(preset.Kernels[o]);
                    }
                    layers.Add(new LayerChoice(kernels).Canonical());
                }
                costs[a] = CostOf(new Architecture(layers));
            }
            using var z0 = tensor(maps, new long[] { n, L * S, O });
            LastSurrogate = UnasSurrogate.Fit(z0, costs);
        }
        var g = LastSurrogate;

        var net = _evaluator.Supernet;
        var phi = new TorchSharp.Modules.Parameter(zeros(L * S, O, dtype: float64));
        var history = new List<double>(Options.Steps);
        var bns = BnRecalibration.BatchNorms(net);
        var momenta = bns.Select(b => b.momentum).ToArray();
        var frozen = net.parameters().Select(q => (q, q.requires_grad)).ToList();
        bool wasTraining = net.training;
        try
        {
            net.train();
            foreach (var b in bns) b.momentum = 0.0; // batch statistics, running statistics untouched
            foreach (var (q, _) in frozen) q.requires_grad = false;
            using var adam = optim.Adam(new[] { phi }, lr: Options.LearningRate);
            for (int step = 0; step < Options.Steps; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                int first = step * Options.SamplesPerStep;
                Tensor Loss(Tensor z)
                {
                    using var _ = no_grad();
                    var values = new double[z.shape[0]];
                    for (int n = 0; n < values.Length; n++)
                    {
                        using var inner = NewDisposeScope();
                        double ld = Accuracy(net, z[n].to(float32).reshape(L, S, O), first + n).to(float64).item<double>();
                        double r = CostOf(DecodePath(preset, z[n]).ToArchitecture()) / targetFlopsM;
                        values[n] = ld + Options.CostWeight * (Math.Pow(r - 1, 2) + Options.OverBudgetSlope * Math.Max(0, r - 1));
                    }
                    return tensor(values, dtype: float64);
                }
                Tensor Control(Tensor zeta)
                {
                    var terms = new Tensor[zeta.shape[0]];
                    for (int n = 0; n < terms.Length; n++)
                        terms[n] = Accuracy(net, zeta[n].to(float32).reshape(L, S, O), first + n).to(float64);
                    var r = g.Apply(zeta) / targetFlopsM;
                    var penalty = Options.CostWeight * ((r - 1).pow(2) + Options.OverBudgetSlope * (r - 1).relu());
                    return stack(terms) + penalty;
                }
                using var estimate = UnasGradientEstimator.Estimate(phi.detach(), mask, Options.SamplesPerStep, Loss,
                    Options.ControlVariate ? Control : null, Options.Temperature, generator);
                adam.zero_grad();
                (phi * estimate.Mean().detach()).sum().backward(); // phi.grad = the estimate
                adam.step();
                double meanLoss = estimate.Losses.mean().item<double>();
                history.Add(meanLoss);
                var current = MostProbablePath(preset, phi, mask).ToArchitecture();
                progress?.Report(new TrainingProgress(stage, 1, 1, step + 1, Options.Steps,
                    new Dictionary<string, double> { ["loss"] = meanLoss, ["cost"] = CostOf(current) }, EpochDone: step + 1 == Options.Steps));
            }
        }
        finally
        {
            for (int i = 0; i < bns.Count; i++) bns[i].momentum = momenta[i];
            foreach (var (q, rg) in frozen) q.requires_grad = rg;
            net.train(wasTraining);
        }
        LastLossHistory = history;
        var pick = MostProbablePath(preset, phi, mask);
        phi.Dispose();
        // Scored on the positional path the relaxed forward optimised, like the generator's picks (docs/generator.md).
        var result = _evaluator.EvaluatePath(pick, cancellationToken);
        var exact = FlopsCounter.Count(preset, result.Architecture).FlopsM;
        return new SearchResult(Name, targetFlopsM, result.Architecture, exact, result.ValTop1, result.ValLoss, clock.Elapsed.TotalSeconds, 1,
            new[] { new Trial(1, result.Architecture, result.FlopsM, result.ValTop1, result.ValLoss, result.Seconds) })
        {
            Path = pick, Kind = _kind, Cost = CostOf(result.Architecture),
        };
    }

    /// <summary>The accuracy term on weights <paramref name="m"/> [L, S, O] with the mini-batches of sample <paramref name="index"/>.</summary>
    private Tensor Accuracy(Supernet net, Tensor m, int index)
    {
        var (xv, yv) = _data.Validation[index % _data.Validation.Count];
        var val = F.cross_entropy(net.ForwardRelaxed(xv, m), yv);
        if (Options.Objective == UnasObjective.Validation) return val;
        var (xt, yt) = _data.Train[index % _data.Train.Count];
        var train = F.cross_entropy(net.ForwardRelaxed(xt, m), yt);
        return train + Options.GapWeight * (val - train).abs(); // UNAS Eq. 8
    }

    private double CostOf(Architecture a)
    {
        if (_costCache.TryGetValue(a, out double c)) return c;
        c = _cost.Evaluate(a);
        if (!double.IsFinite(c)) throw new InvalidOperationException($"The {_cost.Name} cost of {a} is not a number.");
        return _costCache[a] = c;
    }

    /// <summary>Allowed options per row (row = layer·e_max + sub-block), [L·e_max, options]: forced sampling's mask.</summary>
    public static Tensor RowMask(SearchSpacePreset preset)
    {
        var one = ForcedSampling.OptionMask(preset);
        var all = Enumerable.Range(0, preset.LayerCount).SelectMany(_ => one).ToArray();
        return tensor(all, new long[] { preset.LayerCount * preset.MaxExpansion, preset.OptionCount });
    }

    /// <summary>
    /// The positional path of a one-hot (or any) choice map [L·e_max, options]: per sub-block its argmax option, in
    /// place (a skip may sit between active sub-blocks, as in the relaxed forward that evaluated the map). The first
    /// e_min sub-blocks never skip (their skip is masked), so every layer has a valid rate.
    /// </summary>
    public static SupernetPath DecodePath(SearchSpacePreset preset, Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        var idx = z.reshape(preset.LayerCount, preset.MaxExpansion, preset.OptionCount).argmax(-1).data<long>().Select(v => (int)v).ToArray();
        return SupernetPath.FromOptions(preset, idx);
    }

    /// <summary>
    /// The architecture of a choice map: <see cref="DecodePath"/>'s <see cref="SupernetPath.ToArchitecture"/> (in each
    /// layer the sub-blocks that do not skip, with their kernels, canonical).
    /// </summary>
    public static Architecture Decode(SearchSpacePreset preset, Tensor z) => DecodePath(preset, z).ToArchitecture();

    /// <summary>The most probable path of logits φ [L·e_max, options]: per-row argmax of the allowed options, in place.</summary>
    public static SupernetPath MostProbablePath(SearchSpacePreset preset, Tensor phi, Tensor mask)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var p = UnasGradientEstimator.Probabilities(phi.detach(), mask);
        return DecodePath(preset, p);
    }

    /// <summary>The most probable architecture of logits φ: <see cref="MostProbablePath"/>'s architecture.</summary>
    public static Architecture MostProbable(SearchSpacePreset preset, Tensor phi, Tensor mask) => MostProbablePath(preset, phi, mask).ToArchitecture();

    /// <summary>Disposes the data when owned.</summary>
    public void Dispose()
    {
        if (_ownsData) _data.Dispose();
    }
}
