using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Runtime;
using Sgnas.Search;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.MLNet.Reports;

/// <summary>One strategy's final pick for one budget, scored at search time and on the held-out split.</summary>
public sealed record ExperimentPick(string Strategy, double TargetFlopsM, string Architecture, string Path, double FlopsM,
    double SearchTop1, double SearchSeconds, int Evaluated, double HeldOutTop1 = double.NaN, double HeldOutLoss = double.NaN);

/// <summary>FLOPs tracking of the generator on budgets drawn uniformly from the interval, without repair (Fig. 7a).</summary>
public sealed record TrackingResult(double[] TargetsM, double[] GeneratedM, double KendallTau, double Pearson, double MeanAbsRelError,
    double WorstRelError, int RepairsNeeded, int MiddleSkipPaths)
{
    /// <summary>Distinct costs the generator's calibration found over its grid (0 for a raw generation).</summary>
    public int CalibrationLevels { get; init; }
}

/// <summary>Everything the experiment measured; written to <c>results.json</c> and summarised in <c>results.md</c>.</summary>
public sealed record ExperimentResult
{
    /// <summary>The options of the run.</summary>
    public required ExperimentOptions Options { get; init; }
    /// <summary>Preset name.</summary>
    public required string Preset { get; init; }
    /// <summary>Generator constraint interval in M.</summary>
    public double LowM { get; init; }
    /// <summary>Generator constraint interval in M.</summary>
    public double HighM { get; init; }
    /// <summary>Images: supernet training, search validation, held-out.</summary>
    public int TrainImages { get; init; }
    /// <summary>Search-time validation images per candidate.</summary>
    public int ValidationImages { get; init; }
    /// <summary>Held-out images per re-scored pick.</summary>
    public int HeldOutImages { get; init; }
    /// <summary>Supernet validation top-1 (mean of its fixed validation paths) and training seconds.</summary>
    public double SupernetTop1 { get; init; }
    /// <summary>Supernet training seconds (all sessions).</summary>
    public double SupernetSeconds { get; init; }
    /// <summary>Generator training seconds.</summary>
    public double GeneratorSeconds { get; init; }
    /// <summary>Kept generator epoch and its metrics.</summary>
    public GeneratorEpochMetrics? GeneratorBest { get; init; }
    /// <summary>Seconds of one batched generation of 10 targets.</summary>
    public double TenGenerationsSeconds { get; init; }
    /// <summary>Mean seconds per scored candidate (recalibration + validation).</summary>
    public double SecondsPerCandidate { get; init; }
    /// <summary>Every pick.</summary>
    public IReadOnlyList<ExperimentPick> Picks { get; init; } = [];
    /// <summary>The random sample (Fig. 6a).</summary>
    public IReadOnlyList<RandomPoint> RandomPoints { get; init; } = [];
    /// <summary>Random architectures drawn within ±5 % of a generator pick's FLOPs (percentile target only).</summary>
    public IReadOnlyList<RandomPoint> NeighbourPoints { get; init; } = [];
    /// <summary>FLOPs tracking of generation as delivered (calibrated input).</summary>
    public TrackingResult? Tracking { get; init; }
    /// <summary>FLOPs tracking of the generator's raw response (run at the budget itself, as during training).</summary>
    public TrackingResult? RawTracking { get; init; }
    /// <summary>Supernet ranking.</summary>
    public RankingResult? Ranking { get; init; }
    /// <summary>Generator picks with a skip in the middle of a layer: (search-split top-1 of the path, of its compacted prefix path).</summary>
    public IReadOnlyList<(double Target, double PathTop1, double CompactedTop1)> MiddleSkipChecks { get; init; } = [];
    /// <summary>Wall time per stage in this invocation (stages reused from an earlier invocation show their stored time where known).</summary>
    public IReadOnlyDictionary<string, double> StageSeconds { get; init; } = new Dictionary<string, double>();
}

/// <summary>
/// The reproducible experiment of issue 9 (README "The experiment"): supernet → generator → random search, evolution
/// and the generator at several budgets → a random sample (Fig. 6a) → every pick re-scored on a held-out split no
/// search saw → FLOPs tracking on uniformly drawn budgets (Fig. 7a) → the supernet ranking measure → <c>results.md</c>.
/// Every stage persists its output under the output folder and is skipped when that output exists; the supernet
/// resumes from its checkpoint and every search from its candidate journal, so an interrupted run continues where it
/// stopped.
/// </summary>
public sealed class ExperimentRunner
{
    private readonly ExperimentOptions _o;
    private readonly string _out;
    private readonly Action<string> _log;
    private readonly IProgress<TrainingProgress>? _progress;
    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        IncludeFields = true,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    /// <summary>Creates the runner.</summary>
    public ExperimentRunner(ExperimentOptions options, string outDir, Action<string>? log = null, IProgress<TrainingProgress>? progress = null)
    {
        _o = options ?? throw new ArgumentNullException(nameof(options));
        _o.Validate();
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        _out = Path.GetFullPath(outDir);
        _log = log ?? (_ => { });
        _progress = progress;
    }

    /// <summary>The run folder (supernet and generator).</summary>
    public RunFolder Run => new(Path.Combine(_out, "run"));

    private string P(string name) => Path.Combine(_out, name);

    private static TrackingResult Track(double[] targets, IReadOnlyList<GeneratedArchitecture> generated)
    {
        var gen = generated.Select(g => g.FlopsM).ToArray();
        var rel = targets.Select((t, i) => (gen[i] - t) / t).ToArray();
        return new TrackingResult(targets, gen, Correlation.KendallTau(targets, gen), Correlation.Pearson(targets, gen),
            rel.Average(Math.Abs), rel.MaxBy(Math.Abs), generated.Count(g => g.FlopsM > g.TargetFlopsM + 1e-9), generated.Count(g => g.Path is { IsPrefix: false }));
    }

    private bool Stop(string stage)
    {
        if (_o.StopAfter != stage) return false;
        _log($"stopping after stage '{stage}' as asked (--stop-after); run the same command again to continue.");
        return true;
    }

    /// <summary>Runs (or continues) the experiment; returns null when stopped early by <see cref="ExperimentOptions.StopAfter"/>.</summary>
    public ExperimentResult? Execute(CancellationToken ct = default)
    {
        Directory.CreateDirectory(_out);
        File.WriteAllText(P("options.json"), JsonSerializer.Serialize(_o, Json));
        var preset = SearchSpacePreset.Load(_o.Preset);
        var device = DeviceSelector.Resolve(_o.Device);
        var stageSeconds = new Dictionary<string, double>();
        var clock = Stopwatch.StartNew();
        double Lap() { double s = clock.Elapsed.TotalSeconds; clock.Restart(); return s; }
        var train = DatasetLoader.Load(_o.DataPath, DatasetSplit.Train);
        var run = Run;

        // 1. Supernet (resumes from its per-epoch checkpoint).
        var sOpts = _o.Supernet with
        {
            Epochs = _o.SupernetEpochs, MaxTrainImages = _o.SupernetMaxTrainImages, Seed = _o.Seed, Device = _o.Device, DataPath = _o.DataPath,
        };
        SupernetTrainingResult sres;
        if (File.Exists(run.SupernetMeta))
        {
            _log("supernet: checkpoint found, resuming (or reusing when complete)");
            sres = Sgnas.Training.SupernetTrainer.Resume(run, train, _progress, ct);
        }
        else
        {
            _log($"supernet: {sOpts.Epochs} epochs on {(sOpts.MaxTrainImages?.ToString(CultureInfo.InvariantCulture) ?? "all")} images");
            sres = new Sgnas.Training.SupernetTrainer(preset, sOpts).Train(train, run, _progress, ct);
        }
        stageSeconds["supernet"] = Lap();
        if (Stop("supernet")) return null;

        // 2. Generator (short; retrained from the start when its output is missing).
        ArchitectureGeneratorModel model;
        if (File.Exists(run.GeneratorMeta) && File.Exists(run.GeneratorWeights))
        {
            _log("generator: reusing generator.json");
            model = ArchitectureGeneratorModel.Load(run, device, preset);
        }
        else
        {
            var (net, info) = SupernetCheckpoint.Load(run, device);
            using (net)
            {
                var val = GeneratorData.ValidationIndices(train, info.Options, _o.GeneratorMaxImages);
                var gOpts = _o.Generator with { Epochs = _o.GeneratorEpochs, Seed = _o.Seed };
                _log($"generator: {gOpts.Epochs} epochs on {val.Length} validation images");
                var norm = new ChannelNormalization(preset.Mean.ToArray(), preset.Std.ToArray());
                model = new GeneratorTrainer(net, gOpts, device).Train(train, val, norm, _progress, ct);
                model.Save(run);
            }
        }
        stageSeconds["generator"] = Lap();
        using var _model = model;
        if (Stop("generator")) return null;

        // Search session: the supernet's validation split scores candidates; the data's test split is the held-out split.
        var evalOptions = new CandidateEvaluatorOptions
        {
            RecalibrationImages = _o.RecalibrationImages, ValidationImages = _o.ValidationImages, Seed = _o.Seed,
        };
        using var session = SearchSession.Open(run.Root, device, new SearchSessionOptions { Evaluation = evalOptions, DatasetPath = _o.DataPath });
        var ev = session.Evaluator;
        double low = model.LowM, high = model.HighM;
        var budgets = _o.BudgetFractions.Select(f => Math.Round(low + f * (high - low), 4)).ToArray();

        // 3. Searches, each with a journal; a finished search leaves its pick as JSON.
        Directory.CreateDirectory(P("search"));
        var picks = new List<ExperimentPick>();
        var searchResults = new List<SearchResult>();
        for (int b = 0; b < budgets.Length; b++)
        {
            bool main = b == 0;
            var random = new RandomSearchOptions { Evaluations = main ? _o.RandomCandidates : _o.OtherRandomCandidates, Seed = _o.Seed };
            int pop = main ? _o.EvolutionPopulation : _o.OtherEvolutionPopulation;
            var evolution = new EvolutionSearchOptions
            {
                Population = pop, Iterations = main ? _o.EvolutionIterations : _o.OtherEvolutionIterations, TopK = Math.Max(1, Math.Min(10, pop / 5 == 0 ? 1 : pop / 5)),
                Seed = _o.Seed,
            };
            var strategies = new (string Name, Func<ISearchStrategy> Make)[]
            {
                ("random", () => session.RandomSearch(random)),
                ("evolution", () => session.EvolutionSearch(evolution)),
                ("generator", () => session.GeneratorSearch(_o.GeneratorHardLimit)),
            };
            foreach (var (name, make) in strategies)
            {
                string file = P(Path.Combine("search", $"{name}_{budgets[b].ToString("0.####", CultureInfo.InvariantCulture)}"));
                if (File.Exists(file + ".json"))
                {
                    picks.Add(JsonSerializer.Deserialize<ExperimentPick>(File.ReadAllText(file + ".json"), Json)!);
                    continue;
                }
                var strategy = make();
                if (strategy is TunerSearchStrategy tuner) strategy = WithJournal(tuner, file + ".jsonl", preset);
                _log($"search: {name} at {budgets[b]:0.###} M");
                var r = strategy.Search(budgets[b], ct, _progress);
                var pick = new ExperimentPick(name, budgets[b], r.Architecture.ToString(), r.Path?.ToString() ?? "", r.FlopsM, r.ValTop1, r.Seconds, r.Evaluated);
                AtomicFile.WriteAllText(file + ".json", JsonSerializer.Serialize(pick, Json));
                picks.Add(pick);
            }
        }
        stageSeconds["search"] = Lap();
        if (Stop("search")) return null;

        // 4. Random sample (Fig. 6a), journaled.
        var sampleJournal = new CandidateJournal(P("sample.jsonl"), preset);
        var sampler = new ArchitectureSampler(preset, StageSeed(1));
        var points = new List<RandomPoint>();
        for (int i = 0; i < _o.RandomPoints; i++)
        {
            ct.ThrowIfCancellationRequested();
            var a = sampler.Sample();
            if (!sampleJournal.TryGet(a, out var r))
            {
                r = ev.Evaluate(a, ct);
                sampleJournal.Append(r);
            }
            points.Add(new RandomPoint(r.Architecture, r.FlopsM, r.ValTop1));
            _progress?.Report(new TrainingProgress("random-sample", 1, 1, i + 1, _o.RandomPoints, new Dictionary<string, double> { ["top1"] = r.ValTop1 }, i + 1 == _o.RandomPoints));
        }
        // 4b. More random architectures near each generator pick (±5 % FLOPs), for the percentile target.
        var neighbourJournal = new CandidateJournal(P("neighbours.jsonl"), preset);
        var neighbours = new List<RandomPoint>();
        var generatorPicks = picks.Where(p => p.Strategy == "generator").ToList();
        for (int g = 0; g < generatorPicks.Count; g++)
        {
            double f = generatorPicks[g].FlopsM;
            bool Near(double x) => Math.Abs(x - f) <= 0.05 * f;
            int have = points.Concat(neighbours).Count(p => Near(p.FlopsM));
            var near = new ArchitectureSampler(preset, StageSeed(4 + g));
            // Rejection sampling: uniform architectures, kept when inside the window (about 1 in 60 at the ends).
            for (int draw = 0; have < _o.PercentileNeighbours && draw < 200_000; draw++)
            {
                ct.ThrowIfCancellationRequested();
                var a = near.Sample();
                if (!Near(ev.Table.CostM(a)) || points.Concat(neighbours).Any(p => p.Architecture == a)) continue;
                if (!neighbourJournal.TryGet(a, out var r))
                {
                    r = ev.Evaluate(a, ct);
                    neighbourJournal.Append(r);
                }
                neighbours.Add(new RandomPoint(r.Architecture, r.FlopsM, r.ValTop1));
                have++;
                _progress?.Report(new TrainingProgress("neighbours", g + 1, generatorPicks.Count, have, _o.PercentileNeighbours, new Dictionary<string, double> { ["top1"] = r.ValTop1 }, have >= _o.PercentileNeighbours));
            }
            if (have < _o.PercentileNeighbours) _log($"neighbours: only {have} random architectures found within ±5 % of {f:0.###} M");
        }
        stageSeconds["sample"] = Lap();
        if (Stop("sample")) return null;

        // 5. Held-out re-scoring of every pick on its scored path (test split, never seen by a search or the generator).
        var test = DatasetLoader.Load(_o.DataPath, DatasetSplit.Test);
        var combined = Concat(train, test);
        var indices = session.Split.Indices(train);
        var heldIdx = Enumerable.Range(train.Count, test.Count).ToArray();
        var norm2 = new ChannelNormalization(preset.Mean.ToArray(), preset.Std.ToArray());
        using (var heldData = EvaluationData.Create(combined, indices.Train, heldIdx, norm2,
                   evalOptions with { ValidationImages = _o.HeldOutImages }, device))
        using (var held = new CandidateEvaluator(session.Supernet, heldData, ownsData: false))
        {
            for (int i = 0; i < picks.Count; i++)
            {
                var path = picks[i].Path.Length > 0 ? SupernetPath.Parse(picks[i].Path, preset)
                    : SupernetPath.FromArchitecture(preset, ArchitectureCodec.Parse(picks[i].Architecture, preset));
                var h = held.EvaluatePath(path, ct);
                picks[i] = picks[i] with { HeldOutTop1 = h.ValTop1, HeldOutLoss = h.ValLoss };
            }
        }
        var middleSkips = new List<(double, double, double)>();
        foreach (var g in picks.Where(p => p.Strategy == "generator" && p.Path.Length > 0))
        {
            var path = SupernetPath.Parse(g.Path, preset);
            if (path.IsPrefix) continue;
            middleSkips.Add((g.TargetFlopsM, ev.EvaluatePath(path, ct).ValTop1, ev.EvaluatePath(path.Compacted(), ct).ValTop1));
        }
        AtomicFile.WriteAllText(P("picks.json"), JsonSerializer.Serialize(picks, Json));
        stageSeconds["heldout"] = Lap();
        if (Stop("heldout")) return null;

        // 6. FLOPs tracking on uniformly drawn budgets, not the generator's evaluation targets, without repair.
        var trackRandom = new Random(StageSeed(2));
        var targets = Enumerable.Range(0, _o.TrackingBudgets).Select(_ => low + trackRandom.NextDouble() * (high - low)).ToArray();
        // As delivered (calibrated input, docs/generator.md section 7) and the generator's raw response at the budget itself.
        var tracking = Track(targets, model.Generate(targets, hardLimit: false)) with { CalibrationLevels = model.Calibration.Levels };
        var rawTracking = Track(targets, model.Generate(targets, hardLimit: false, calibrated: false));
        var clock10 = Stopwatch.StartNew();
        model.Generate(ArchitectureGeneratorModel.EvenTargets(low, high, 10), _o.GeneratorHardLimit);
        double tenGenerations = clock10.Elapsed.TotalSeconds;
        stageSeconds["tracking"] = Lap();
        if (Stop("tracking")) return null;

        // 7. Supernet ranking: inherited (BN-recalibrated) vs stand-alone accuracy.
        var rankRandom = new Random(StageSeed(3));
        var rankTrain = train.Subset(Shuffle(indices.Train, rankRandom).Take(_o.RankingTrainImages).ToArray());
        var rankVal = train.Subset(Shuffle(indices.Validation, rankRandom).Take(_o.RankingValidationImages).ToArray());
        var retrain = new RetrainOptions
        {
            Epochs = _o.RankingEpochs, BatchSize = 128, Optimizer = RetrainOptimizer.Sgd, ValidationFraction = 0, Seed = _o.Seed,
            Augmentation = RetrainAugmentation.None,
        };
        var standalone = new StandaloneTraining(preset, rankTrain, rankVal, retrain, P("ranking"), _progress);
        var rankArchs = SupernetRanking.SpreadArchitectures(preset, _o.RankingArchitectures, _o.Seed);
        _log($"ranking: {rankArchs.Count} architectures, {_o.RankingEpochs} epoch(s) on {rankTrain.Count} images each");
        var ranking = SupernetRanking.Measure(ev, rankArchs, standalone.Top1, cancellationToken: ct);
        stageSeconds["ranking"] = Lap();
        if (Stop("ranking")) return null;

        // Cost per candidate from every journal (fresh measurements only).
        var journals = Directory.EnumerateFiles(P("search"), "*.jsonl").Append(P("sample.jsonl")).Where(File.Exists)
            .SelectMany(f => new CandidateJournal(f, preset).Results).ToList();
        double perCandidate = journals.Count == 0 ? double.NaN : journals.Average(r => r.Seconds);
        var history = model.History;
        var result = new ExperimentResult
        {
            // The options the supernet and the generator were trained with (their checkpoints), which a reused run folder
            // may hold instead of these options'.
            Options = _o with { Supernet = Sgnas.Training.SupernetTrainer.ReadOptions(run), Generator = model.Options }, Preset = preset.Name, LowM = low, HighM = high, TrainImages = indices.Train.Length,
            ValidationImages = ev.Data.ValidationCount, HeldOutImages = _o.HeldOutImages == 0 ? test.Count : Math.Min(_o.HeldOutImages, test.Count),
            SupernetTop1 = sres.ValidationTop1 ?? double.NaN, SupernetSeconds = sres.History.Sum(h => h.Seconds),
            GeneratorSeconds = history.Sum(h => h.Seconds), GeneratorBest = model.BestMetrics, TenGenerationsSeconds = tenGenerations,
            SecondsPerCandidate = perCandidate, Picks = picks, RandomPoints = points, NeighbourPoints = neighbours, Tracking = tracking, RawTracking = rawTracking, Ranking = ranking,
            MiddleSkipChecks = middleSkips, StageSeconds = stageSeconds,
        };
        ExperimentReport.Write(result, _out);
        stageSeconds["report"] = Lap();
        _log($"report: {P(ExperimentReport.MarkdownFile)}");
        return result;
    }

    /// <summary>A seed per stage derived from the experiment seed (stages draw independent streams).</summary>
    private int StageSeed(int stage) => unchecked(_o.Seed * 7919 + 104729 * stage + 13);

    private static TunerSearchStrategy WithJournal(TunerSearchStrategy s, string path, SearchSpacePreset preset)
    {
        var journal = new CandidateJournal(path, preset);
        return s.WithJournal(_ => journal);
    }

    private static int[] Shuffle(int[] a, Random r)
    {
        var o = a.ToArray();
        for (int i = o.Length - 1; i > 0; i--) { int j = r.Next(i + 1); (o[i], o[j]) = (o[j], o[i]); }
        return o;
    }

    private static ImageDataset Concat(ImageDataset a, ImageDataset b)
    {
        if (a.Channels != b.Channels || a.Height != b.Height || a.Width != b.Width)
            throw new InvalidDataException($"train images are {a.Channels}×{a.Height}×{a.Width}, test images {b.Channels}×{b.Height}×{b.Width}.");
        var pixels = new byte[a.Pixels.Length + b.Pixels.Length];
        a.Pixels.CopyTo(pixels, 0);
        b.Pixels.CopyTo(pixels, a.Pixels.Length);
        return new ImageDataset(pixels, a.Channels, a.Height, a.Width, a.Labels.Concat(b.Labels).ToArray(), Math.Max(a.ClassCount, b.ClassCount), a.ClassNames);
    }
}
