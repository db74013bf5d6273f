using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.Cost;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Generation;

/// <summary>One generated architecture.</summary>
/// <param name="TargetFlopsM">The requested FLOPs in M; NaN when the generator answers latency budgets (see <see cref="Target"/>).</param>
/// <param name="Architecture">The architecture (canonical).</param>
/// <param name="FlopsM">Its exact FLOPs (Eq. 9 on one-hot, equal to <see cref="FlopsCounter"/>).</param>
/// <param name="ParamsM">Parameters of its standalone network in M (<see cref="ParameterCount"/>).</param>
/// <param name="Repaired">True if the hard limit changed the argmax architecture.</param>
public sealed record GeneratedArchitecture(double TargetFlopsM, Architecture Architecture, double FlopsM, double ParamsM, bool Repaired)
{
    /// <summary>
    /// The positional supernet path the generator chose (argmax per sub-block, in place, after any repair): the path
    /// the relaxed forward optimised, on which the supernet scores this pick (docs/generator.md). Its
    /// <see cref="SupernetPath.ToArchitecture"/> is <see cref="Architecture"/>. Null when built without one.
    /// </summary>
    public SupernetPath? Path { get; init; }

    /// <summary>The kind of budget the generator answered (FLOPs unless it was trained against a latency table).</summary>
    public ConstraintKind Kind { get; init; } = ConstraintKind.Flops;

    /// <summary>The requested budget in the unit of <see cref="Kind"/> (M or ms).</summary>
    public double Target { get; init; } = TargetFlopsM;

    /// <summary>
    /// The architecture's cost in the unit of <see cref="Kind"/>: its FLOPs, or for latency the table's prediction in
    /// ms (<see cref="LatencyTable.PredictMs"/>, the twin of Eq. 9 on the one-hot map).
    /// </summary>
    public double Cost { get; init; } = FlopsM;

    /// <summary>True if <see cref="Cost"/> is within <see cref="Target"/>.</summary>
    public bool WithinTarget => Cost <= Target + 1e-9;

    /// <summary>The constraint input the generator ran at: the calibrated input for <see cref="Target"/>
    /// (<see cref="ConstraintCalibration"/>), or the target itself for a raw generation.</summary>
    public double Input { get; init; } = TargetFlopsM;
}

/// <summary>Metrics of one generator epoch.</summary>
public sealed record GeneratorEpochMetrics
{
    /// <summary>1-based epoch.</summary>
    public int Epoch { get; init; }
    /// <summary>Gumbel-softmax temperature used in the epoch.</summary>
    public double Temperature { get; init; }
    /// <summary>Mean training loss L_G.</summary>
    public double Loss { get; init; }
    /// <summary>Mean training cross-entropy.</summary>
    public double CrossEntropy { get; init; }
    /// <summary>Mean training L_C (without λ).</summary>
    public double ConstraintLoss { get; init; }
    /// <summary>Kendall τ-b between evaluation targets and generated FLOPs.</summary>
    public double KendallTau { get; init; }
    /// <summary>Pearson r between evaluation targets and generated FLOPs.</summary>
    public double Pearson { get; init; }
    /// <summary>Mean absolute relative error of generated costs against targets (FLOPs, or predicted ms for a latency generator).</summary>
    public double MeanAbsRelError { get; init; }
    /// <summary>The same error for G run at the targets themselves (raw response, what Eq. 10 trains); NaN in folders written before calibration.</summary>
    public double RawMeanAbsRelError { get; init; } = double.NaN;
    /// <summary>Distinct architectures over this epoch's calibration grid (0 in folders written before calibration).</summary>
    public int CalibrationLevels { get; init; }
    /// <summary>Sum of L_C over the evaluation targets (selection criterion for the best generator, as the reference).</summary>
    public double EvalConstraintLoss { get; init; }
    /// <summary>Supernet top-1 of the architecture generated for the middle accuracy target (NaN without evaluation batches).</summary>
    public double MiddleTop1 { get; init; } = double.NaN;
    /// <summary>
    /// Average supernet top-1 (eval mode, the supernet's own BN statistics, positional paths) of the architectures
    /// generated for <see cref="AccuracyTargetsM"/>, on fixed validation batches: the accuracy criterion of the
    /// epoch selection (<see cref="GeneratorSelection"/>). NaN without evaluation batches.
    /// </summary>
    public double MeanTop1 { get; init; } = double.NaN;
    /// <summary>Targets whose generated architectures' top-1 is averaged, in M.</summary>
    public double[] AccuracyTargetsM { get; init; } = [];
    /// <summary>Top-1 per accuracy target.</summary>
    public double[] Top1PerTarget { get; init; } = [];
    /// <summary>True if the constraint fit (mean relative FLOPs error) is within the selection tolerance.</summary>
    public bool WithinTolerance { get; init; }
    /// <summary>Evaluation targets in M.</summary>
    public double[] TargetsM { get; init; } = [];
    /// <summary>Generated FLOPs per target in M.</summary>
    public double[] GeneratedM { get; init; } = [];
    /// <summary>Wall time of the epoch in seconds.</summary>
    public double Seconds { get; init; }
}

/// <summary>
/// A trained architecture generator ready to generate (SGNAS stage 2 output): the generator G, its prior pool,
/// the preset and the constraint interval. <see cref="Generate"/> answers N targets with one batched forward pass
/// (paper section 3.2; docs/design.md §1). Saved as <c>generator.pt</c> + <c>generator.json</c> in a
/// <see cref="RunFolder"/>.
/// </summary>
public sealed class ArchitectureGeneratorModel : IDisposable
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true,
        // Top-1 is NaN in epochs evaluated without validation batches.
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };
    private readonly FlopsLookupTable _table;
    private readonly Device _device;

    /// <summary>Wraps a generator and its pool (the generator is owned and disposed with the model).</summary>
    /// <param name="preset">The search space.</param>
    /// <param name="generator">The generator network.</param>
    /// <param name="pool">Its prior pool (bucketed by <paramref name="cost"/>'s kind).</param>
    /// <param name="lowM">Lower end of the constraint interval in <paramref name="cost"/>'s unit.</param>
    /// <param name="highM">Upper end.</param>
    /// <param name="options">Training options.</param>
    /// <param name="temperature">Final Gumbel-softmax temperature.</param>
    /// <param name="history">Per-epoch metrics.</param>
    /// <param name="device">Device of the generator.</param>
    /// <param name="cost">The constraint the generator answers; null for FLOPs (Eq. 9).</param>
    public ArchitectureGeneratorModel(SearchSpacePreset preset, ArchitectureGenerator generator, PriorPool pool, double lowM, double highM,
        GeneratorOptions options, double temperature, IReadOnlyList<GeneratorEpochMetrics>? history, Device device, ConstraintCost? cost = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(pool);
        if (generator.Layers != preset.LayerCount || generator.SubBlocks != preset.MaxExpansion || generator.Options != preset.OptionCount)
            throw new ArgumentException($"generator α map [{generator.Layers}, {generator.SubBlocks}, {generator.Options}] does not fit preset '{preset.Name}'.");
        Preset = preset; Generator = generator; PriorPool = pool; LowM = lowM; HighM = highM;
        Options = options; Temperature = temperature; History = history?.ToList() ?? new List<GeneratorEpochMetrics>();
        _device = device; _table = new FlopsLookupTable(preset);
        Cost = cost ?? ConstraintCost.Flops(_table);
        if (Cost.Preset.ToJson() != preset.ToJson())
            throw new ArgumentException($"the constraint cost is for preset '{Cost.Preset.Name}', the generator for '{preset.Name}'.", nameof(cost));
        if (pool.Kind != Cost.Kind)
            throw new ArgumentException($"the prior pool is bucketed by {ConstraintKinds.Name(pool.Kind)}, the generator answers {ConstraintKinds.Name(Cost.Kind)} budgets.", nameof(pool));
        FeasibleRange = Cost.Range();
    }

    /// <summary>
    /// The constraint the generator was trained for and answers (docs/latency.md): FLOPs (Eq. 9) or latency from a
    /// table (the Eq. 9 twin). <see cref="LowM"/>, <see cref="HighM"/>, <see cref="FeasibleRange"/> and the targets of
    /// <see cref="Generate"/> are in its unit.
    /// </summary>
    public ConstraintCost Cost { get; }

    /// <summary>The kind of budget the generator answers.</summary>
    public ConstraintKind Kind => Cost.Kind;

    /// <summary>The search space.</summary>
    public SearchSpacePreset Preset { get; }
    /// <summary>The generator network.</summary>
    public ArchitectureGenerator Generator { get; }
    /// <summary>The random-prior pool.</summary>
    public PriorPool PriorPool { get; }
    /// <summary>Lower end of the constraint interval (normalisation), in M (ms for a latency generator).</summary>
    public double LowM { get; }
    /// <summary>Upper end of the constraint interval, in M (ms for a latency generator).</summary>
    public double HighM { get; }
    /// <summary>Options the generator was trained with.</summary>
    public GeneratorOptions Options { get; }
    /// <summary>Gumbel-softmax temperature at the end of training.</summary>
    public double Temperature { get; }
    /// <summary>Per-epoch metrics of training.</summary>
    public IReadOnlyList<GeneratorEpochMetrics> History { get; }
    /// <summary>
    /// The epoch whose generator was kept (<see cref="GeneratorSelection.Select"/> with the training options'
    /// rule and tolerance), or 0 without history.
    /// </summary>
    public int BestEpoch => GeneratorSelection.Select(History, Options.Selection, Options.SelectionTolerance)?.Epoch ?? 0;

    /// <summary>Metrics of <see cref="BestEpoch"/>, or null without history.</summary>
    public GeneratorEpochMetrics? BestMetrics => GeneratorSelection.Select(History, Options.Selection, Options.SelectionTolerance);

    /// <summary>Cost of the smallest and largest architectures of the space, in M (ms for a latency generator).</summary>
    public (double Min, double Max) FeasibleRange { get; }

    /// <summary>
    /// α for each target, [N, L, e_max, options], from one batched forward pass (no gradient), on the CPU.
    /// </summary>
    public Tensor Alpha(IReadOnlyList<double> targetsM)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Generator.eval();
        // One prior per pool entry and an index per target: the heads run per distinct prior, not per target
        // (ArchitectureGenerator.ForwardShared; same α as the forward on the per-target prior batch).
        var priors = PriorPool.AllPriors(_device);
        var index = tensor(targetsM.Select(t => (long)PriorPool.NearestIndex(t)).ToArray(), device: _device);
        var c = tensor(ConstraintNormalization.NormalizeAll(targetsM, LowM, HighM), device: _device);
        int n = targetsM.Count, chunk = AlphaChunk(Generator.HiddenChannels);
        if (n <= chunk) return Generator.ForwardShared(priors, index, c).cpu().MoveToOuterDisposeScope();
        // Every sample is independent (no batch statistics in G), so chunks give the same α. A chunk's activations
        // (hidden channels over the L × e_max·options map) stay within the CPU caches; one pass over 10 000 budgets
        // would hold about 2 GB of intermediates at once (docs/performance.md).
        var chunks = new List<Tensor>((n + chunk - 1) / chunk);
        for (int start = 0; start < n; start += chunk)
        {
            int len = Math.Min(chunk, n - start);
            using var inner = NewDisposeScope();
            chunks.Add(Generator.ForwardShared(priors, index.narrow(0, start, len), c.narrow(0, start, len)).cpu().MoveToOuterDisposeScope());
        }
        return torch.cat(chunks, 0).MoveToOuterDisposeScope();
    }

    // Budgets per generator forward pass in Alpha: 256 at the paper's 32 hidden channels; narrower generators take
    // more per pass, since their per-call overhead outweighs their arithmetic (measured at 8 channels: 512 budgets
    // per pass generate 10,000 in 100–125 ms against 130–145 ms with 256; docs/performance.md, "Generation").
    private static int AlphaChunk(int hiddenChannels) => Math.Max(256, 4096 / Math.Max(1, hiddenChannels));

    /// <summary>
    /// Generates one architecture per target with one forward pass: argmax per sub-block, expansion rate = number of
    /// non-skip sub-blocks (<see cref="AlphaDecoding"/>); with <paramref name="hardLimit"/>, architectures over their target are
    /// repaired (<see cref="HardLimit"/>). Targets are in the unit of <see cref="Cost"/> (M, or ms for a latency
    /// generator). With <paramref name="calibrated"/> (default) the generator runs at the calibrated input for each
    /// target (<see cref="Calibration"/>: the architecture costs at most the target whenever the generator has a
    /// level below it); otherwise at the target itself, its raw response as during training.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A target lies outside the feasible range of the space.</exception>
    public IReadOnlyList<GeneratedArchitecture> Generate(IReadOnlyList<double> targetsM, bool hardLimit = false, bool calibrated = true) =>
        GenerateWith(targetsM, hardLimit, calibrated ? Calibration : null);

    /// <summary>
    /// As <see cref="Generate"/> with an explicit calibration (null: raw). Training
    /// measures each epoch's weights with a calibration of those weights (<see cref="MeasureCalibration"/>), since the
    /// cached <see cref="Calibration"/> belongs to the final ones.
    /// </summary>
    public IReadOnlyList<GeneratedArchitecture> GenerateWith(IReadOnlyList<double> targetsM, bool hardLimit, ConstraintCalibration? calibration)
    {
        ArgumentNullException.ThrowIfNull(targetsM);
        if (targetsM.Count == 0) return Array.Empty<GeneratedArchitecture>();
        var (min, max) = FeasibleRange;
        foreach (var t in targetsM)
            if (!double.IsFinite(t) || t < min - 1e-9 || t > max + 1e-9)
                throw new ArgumentOutOfRangeException(nameof(targetsM), t,
                    $"target {t} {Cost.Unit} is outside the feasible range {min:F4}..{max:F4} {Cost.Unit} of preset '{Preset.Name}'" +
                    (Kind == ConstraintKind.Latency ? " (predicted by the generator's latency table)." : "."));
        var result = new GeneratedArchitecture[targetsM.Count];
        // Many budgets decode to one path (20 uniform budgets gave 9–11 distinct paths on the demo's generator), so
        // its architecture, exact FLOPs, parameters and cost are worked out once per distinct path, not per budget.
        var known = new Dictionary<SupernetPath, Decoded>();
        if (calibration is null)
        {
            var raw = DecodeAt(targetsM, hardLimit ? targetsM : null, known);
            for (int n = 0; n < targetsM.Count; n++) result[n] = raw[n].Facts.For(Kind, targetsM[n], targetsM[n], raw[n].Repaired);
            return result;
        }

        // Calibrated: every budget is answered at one of the calibration's grid inputs, and G is deterministic, so its
        // decoded output at a grid input is kept per calibration and G runs only at inputs no earlier call reached
        // (docs/performance.md, "Generation from the calibration"). A memo entry is exactly what G's forward at that
        // input decodes to; the hard limit repairs only budgets the lowest level exceeds, and those still go through α.
        var inputs = targetsM.Select(calibration.InputFor).ToArray();
        var memo = Filled(calibration, inputs, known);
        var repair = new List<int>();
        for (int n = 0; n < targetsM.Count; n++)
        {
            var d = memo[inputs[n]];
            if (hardLimit && d.Cost > targetsM[n]) { repair.Add(n); continue; }
            result[n] = d.For(Kind, targetsM[n], inputs[n], repaired: false);
        }
        var repaired = DecodeAt(repair.Select(n => inputs[n]).ToArray(), repair.Select(n => targetsM[n]).ToArray(), known);
        for (int j = 0; j < repair.Count; j++)
            result[repair[j]] = repaired[j].Facts.For(Kind, targetsM[repair[j]], inputs[repair[j]], repaired[j].Repaired);
        return result;
    }

    // G at every input (one batched forward), decoded; with repairTargets (the hard limit), repaired to cost at most
    // repairTargets[i]. Facts are worked out once per distinct path, through known.
    private (Decoded Facts, bool Repaired)[] DecodeAt(IReadOnlyList<double> inputs, IReadOnlyList<double>? repairTargets,
        Dictionary<SupernetPath, Decoded> known)
    {
        if (inputs.Count == 0) return [];
        using var raw = Alpha(inputs);
        using var alpha = raw.contiguous();
        // A span over the CPU tensor's own storage: TensorAccessor.ToArray copied element by element, 54–99 ms at
        // 10,000 budgets (docs/performance.md, "Decoding and counting in place").
        var all = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(alpha.bytes);
        int per = Preset.LayerCount * Preset.MaxExpansion * Preset.OptionCount;
        var decoded = new (Decoded, bool)[inputs.Count];
        for (int i = 0; i < inputs.Count; i++)
        {
            var a = all.Slice(i * per, per);
            SupernetPath path; bool repaired = false;
            if (repairTargets is not null) (path, repaired) = HardLimit.ApplyPath(Preset, Cost, a, repairTargets[i]);
            else path = AlphaDecoding.DecodePath(Preset, a);
            if (!known.TryGetValue(path, out var facts)) known.Add(path, facts = FactsOf(path));
            decoded[i] = (facts, repaired);
        }
        return decoded;
    }

    private Decoded FactsOf(SupernetPath path)
    {
        var arch = path.ToArchitecture();
        double flops = _table.CostM(arch);
        return new Decoded(path, arch, flops, ParameterCount.ChildM(Preset, arch), Kind == ConstraintKind.Flops ? flops : Cost.Of(arch));
    }

    // One decoded generator output: the path and its exact facts, shared by every budget answered with it.
    private sealed record Decoded(SupernetPath Path, Architecture Arch, double Flops, double Params, double Cost)
    {
        public GeneratedArchitecture For(ConstraintKind kind, double target, double input, bool repaired) =>
            new(kind == ConstraintKind.Flops ? target : double.NaN, Arch, Flops, Params, repaired)
            {
                Path = Path, Kind = kind, Target = target, Cost = Cost, Input = input,
            };
    }

    // G's decoded output per grid input, per calibration (a calibration belongs to the weights it was measured on).
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<ConstraintCalibration,
        System.Collections.Concurrent.ConcurrentDictionary<double, Decoded>> _memos = new();

    private System.Collections.Concurrent.ConcurrentDictionary<double, Decoded> Memo(ConstraintCalibration calibration) =>
        _memos.GetValue(calibration, _ => new());

    // The calibration's memo, with G run (one batched forward) at those of inputs it does not hold yet.
    private System.Collections.Concurrent.ConcurrentDictionary<double, Decoded> Filled(ConstraintCalibration calibration,
        IEnumerable<double> inputs, Dictionary<SupernetPath, Decoded> known)
    {
        var memo = Memo(calibration);
        var missing = inputs.Distinct().Where(x => !memo.ContainsKey(x)).ToArray();
        var fresh = DecodeAt(missing, null, known);
        for (int i = 0; i < missing.Length; i++) memo.TryAdd(missing[i], fresh[i].Facts);
        return memo;
    }

    /// <summary>
    /// The inverse of this generator's response curve (docs/generator.md section 7): measured on first use with one
    /// batched raw generation over <see cref="ConstraintCalibration.DefaultPoints"/> inputs, saved in
    /// <c>generator.json</c> with the weights it was measured on, and read back by <see cref="Load"/> (a fresh process
    /// then generates without measuring it again: about 0.3 s saved per <c>sgnas generate</c>). Folders written before
    /// calibration existed measure it on first use.
    /// </summary>
    public ConstraintCalibration Calibration
    {
        get
        {
            lock (_calibrationLock) return _calibration ??= MeasureCalibration();
        }
    }

    /// <summary>
    /// Measures the calibration of the generator's current weights: one batched raw generation over
    /// <see cref="ConstraintCalibration.Grid"/> and the exact cost of each decoded architecture.
    /// </summary>
    public ConstraintCalibration MeasureCalibration()
    {
        var grid = ConstraintCalibration.Grid(LowM, HighM, FeasibleRange);
        var decoded = DecodeAt(grid, null, new());
        var calibration = ConstraintCalibration.FromGrid(grid, decoded.Select(d => d.Facts.Cost).ToArray());
        // The measurement ran G at every grid input: those outputs are the calibrated answers, kept for free.
        var memo = Memo(calibration);
        for (int i = 0; i < grid.Length; i++) memo.TryAdd(grid[i], decoded[i].Facts);
        return calibration;
    }

    private ConstraintCalibration? _calibration;
    private readonly object _calibrationLock = new();

    // G's decoded path at every grid input of a calibration, as its distinct paths (levels) and one level index per
    // grid input. Saved with the calibration, so a loaded model answers every calibrated budget without running G
    // (docs/performance.md, "Generation from the calibration"); inputs no earlier call reached are generated here.
    private (string[] Levels, int[] Answers) Answers(ConstraintCalibration calibration)
    {
        var grid = calibration.GridInputs;
        var memo = Filled(calibration, grid, new());
        var levels = new List<string>();
        var index = new Dictionary<SupernetPath, int>();
        var answers = new int[grid.Count];
        for (int i = 0; i < grid.Count; i++)
        {
            var path = memo[grid[i]].Path;
            if (!index.TryGetValue(path, out int k))
            {
                index.Add(path, k = levels.Count);
                levels.Add(path.ToString());
            }
            answers[i] = k;
        }
        return (levels.ToArray(), answers);
    }

    // Reads the stored answers into the calibration's memo, each checked against the stored grid cost, so a file whose
    // answers do not belong to its calibration is refused at load rather than generating architectures over budget.
    private void ReadAnswers(JsonObject node, ConstraintCalibration calibration, string file)
    {
        if (node["levels"] is null && node["answers"] is null) return; // written before answers were stored: G runs on demand
        var levelTexts = Field(node, "levels", file, "calibration.").AsArray().Select(t => t!.GetValue<string>()).ToArray();
        var answers = Field(node, "answers", file, "calibration.").AsArray().Select(a => a!.GetValue<int>()).ToArray();
        if (answers.Length != calibration.Points)
            throw new InvalidDataException($"{file}: calibration.answers holds {answers.Length} values for {calibration.Points} grid points.");
        var levels = new Decoded[levelTexts.Length];
        for (int k = 0; k < levels.Length; k++)
        {
            try { levels[k] = FactsOf(SupernetPath.Parse(levelTexts[k], Preset)); }
            catch (FormatException e) { throw new InvalidDataException($"{file}: calibration.levels[{k}] is not a path of preset '{Preset.Name}' ({e.Message}).", e); }
        }
        var memo = Memo(calibration);
        for (int i = 0; i < answers.Length; i++)
        {
            int k = answers[i];
            if (k < 0 || k >= levels.Length)
                throw new InvalidDataException($"{file}: calibration.answers[{i}] is {k}; calibration.levels holds {levels.Length} paths.");
            double stored = calibration.GridCosts[i];
            if (Math.Abs(levels[k].Cost - stored) > 1e-9 * Math.Max(1, Math.Abs(stored)))
                throw new InvalidDataException(
                    $"{file}: calibration.answers[{i}] names calibration.levels[{k}], which costs {levels[k].Cost:F6} {Cost.Unit}, but calibration.costs[{i}] is {stored:F6}: the stored answers do not belong to this calibration.");
            memo.TryAdd(calibration.GridInputs[i], levels[k]);
        }
    }

    /// <summary>Targets evenly spread over the interval: bin midpoints low + (i + ½)·(high − low)/n.</summary>
    public static double[] EvenTargets(double lowM, double highM, int n) =>
        Enumerable.Range(0, n).Select(i => lowM + (i + 0.5) * (highM - lowM) / n).ToArray();

    /// <summary>The checkpoint set of a run's generator: generator.pt and generator.json.</summary>
    public static CheckpointSet Set(RunFolder run) => new(run.Root, "generator");

    /// <summary>
    /// Writes <c>generator.pt</c> and <c>generator.json</c> as one checkpoint (<see cref="CheckpointSet"/>): a crash
    /// leaves either the previous generator or this one, never the weights of one with the metadata of the other.
    /// <c>generator.json</c> records the constraint (<c>constraint</c>: kind, unit and, for latency, the table's
    /// SHA-256 and origin); for latency the table is copied to the folder first (<see cref="RunConstraint"/>), so
    /// <see cref="Load"/> finds it and can prove it is the one the generator was trained against.
    /// </summary>
    public void Save(RunFolder run)
    {
        var constraint = new JsonObject { ["kind"] = ConstraintKinds.Name(Kind), ["unit"] = Cost.Unit };
        if (Kind == ConstraintKind.Latency)
        {
            var table = Cost.LatencyTable ?? throw new InvalidOperationException(
                "a generator for measured latency cannot be saved: generators are trained against a latency table.");
            constraint["latencyTableSha256"] = table.Sha256();
            constraint["latencyTableOrigin"] = table.Origin;
            constraint["applyCorrection"] = !Cost.Identity.EndsWith(":raw", StringComparison.Ordinal);
        }
        // constraint.json and latency.json before the checkpoint: a crash in between leaves the old generator, whose
        // own generator.json still names its kind and table (Load checks the table against that, not the folder file).
        RunConstraint.Write(run.Root, Kind, Cost.LatencyTable);
        var meta = new JsonObject
        {
            ["formatVersion"] = 1,
            ["preset"] = SupernetCheckpoint.PresetNode(Preset),
            ["constraint"] = constraint,
            ["constraintLowM"] = LowM,
            ["constraintHighM"] = HighM,
            ["temperature"] = Temperature,
            ["network"] = new JsonObject
            {
                ["constraintChannels"] = Generator.ConstraintChannels,
                ["hiddenChannels"] = Generator.HiddenChannels, // the network's own width: options may describe another
                ["bodyLayers"] = Options.BodyLayers,
            },
            ["options"] = JsonSerializer.SerializeToNode(Options, Json),
            ["priorPool"] = PriorPool.ToJson(),
            ["history"] = JsonSerializer.SerializeToNode(History, Json),
            ["calibration"] = CalibrationNode(),
        };
        Set(run).Commit($"generator, best epoch {BestEpoch}", [
            new CheckpointFile(Path.GetFileName(run.GeneratorWeights), AtomicFile.ModuleBytes(Generator)),
            new CheckpointFile(Path.GetFileName(run.GeneratorMeta), System.Text.Encoding.UTF8.GetBytes(meta.ToJsonString(Json))),
        ]);
    }

    private JsonObject CalibrationNode()
    {
        var calibration = Calibration;
        var (levels, answers) = Answers(calibration);
        return new JsonObject
        {
            ["points"] = calibration.Points,
            ["extension"] = ConstraintCalibration.DefaultExtension,
            ["costs"] = new JsonArray(calibration.GridCosts.Select(c => (JsonNode)c).ToArray()),
            ["levels"] = new JsonArray(levels.Select(l => (JsonNode)l).ToArray()),
            ["answers"] = new JsonArray(answers.Select(a => (JsonNode)a).ToArray()),
        };
    }

    /// <summary>
    /// Loads a generator from <paramref name="run"/> onto <paramref name="device"/>. The stored preset must equal
    /// <paramref name="expectedPreset"/> or, when that is null, the preset of the run's supernet (if present).
    /// The generator must have been trained for <paramref name="expectedKind"/> budgets (a folder written before
    /// latency budgets existed is a FLOPs folder); a latency generator comes with the table it was trained against
    /// (the folder's <c>latency.json</c>, checked against the SHA-256 in <c>generator.json</c>), and when
    /// <paramref name="expectedTable"/> is given it must be that same table.
    /// </summary>
    /// <exception cref="InvalidDataException">Corrupt files (the message names the file and field), or the generator
    /// belongs to a different search space.</exception>
    /// <exception cref="ConstraintMismatchException">The generator answers the other kind of budget, or was trained
    /// against another latency table.</exception>
    public static ArchitectureGeneratorModel Load(RunFolder run, Device device, SearchSpacePreset? expectedPreset = null,
        ConstraintKind expectedKind = ConstraintKind.Flops, LatencyTable? expectedTable = null)
    {
        run.RequireGenerator();
        Set(run).Verify();
        string file = run.GeneratorMeta;
        JsonObject meta;
        try
        {
            meta = JsonNode.Parse(File.ReadAllText(file)) as JsonObject
                   ?? throw new InvalidDataException($"{file}: expected a JSON object with preset, network, priorPool and constraint fields (written by train-generator).");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{file}: corrupt generator metadata, not valid JSON ({SupernetCheckpoint.OneLine(e.Message)}).", e);
        }
        var (storedKind, tableSha, tableOrigin, applyCorrection) = ReadConstraint(meta, file);
        if (storedKind != expectedKind)
            throw new ConstraintMismatchException(storedKind == ConstraintKind.Latency
                ? $"The generator in {run.Root} was trained for latency budgets (ms; table measured with {tableOrigin}); it cannot answer a FLOPs budget. Ask for milliseconds (--budget-ms, TargetLatencyMs), or train a generator for FLOPs in another run folder."
                : $"The generator in {run.Root} was trained for FLOPs budgets (M); it cannot answer a latency budget. Ask for FLOPs (--flops, TargetFlopsM), or train a generator for latency (--budget-ms with a latency table) in another run folder.");
        LatencyTable? latencyTable = null;
        if (storedKind == ConstraintKind.Latency)
        {
            string tablePath = Path.Combine(run.Root, RunConstraint.LatencyTableFileName);
            if (!File.Exists(tablePath))
                throw new ConstraintMismatchException($"{run.Root} holds a latency generator but not its table {RunConstraint.LatencyTableFileName}; train the generator again with the table.");
            try { latencyTable = LatencyTable.Load(tablePath); }
            catch (FormatException e) { throw new InvalidDataException($"{tablePath}: {e.Message}", e); }
            if (!string.Equals(latencyTable.Sha256(), tableSha, StringComparison.OrdinalIgnoreCase))
                throw new ConstraintMismatchException($"{tablePath} is not the latency table the generator in {run.Root} was trained against (SHA-256 {latencyTable.Sha256()[..12]}…, expected {tableSha?[..Math.Min(12, tableSha.Length)]}… from {file}).");
            if (expectedTable is not null && !string.Equals(expectedTable.Sha256(), tableSha, StringComparison.OrdinalIgnoreCase))
                throw new ConstraintMismatchException(
                    $"The generator in {run.Root} was trained against the latency table measured with {tableOrigin} (SHA-256 {tableSha?[..Math.Min(12, tableSha.Length)]}…), " +
                    $"not the table given (measured with {expectedTable.Origin}, SHA-256 {expectedTable.Sha256()[..12]}…). Use the folder's {RunConstraint.LatencyTableFileName}, or train a generator against the new table.");
        }
        try
        {
            var preset = SearchSpacePreset.FromJson(Field(meta, "preset", file).ToJsonString(), file);
            if (expectedPreset is null && File.Exists(run.SupernetMeta)) expectedPreset = SupernetCheckpoint.ReadPreset(run);
            if (expectedPreset is not null && expectedPreset.ToJson() != preset.ToJson())
                throw new InvalidDataException(
                    $"{file}: the generator was trained for preset '{preset.Name}', but the supernet uses preset '{expectedPreset.Name}'" +
                    (expectedPreset.Name == preset.Name ? " with different settings" : "") + ". Retrain it with 'sgnas train-generator'.");
            var options = meta["options"] is { } on ? on.Deserialize<GeneratorOptions>(Json) ?? new GeneratorOptions() : new GeneratorOptions();
            var net = Field(meta, "network", file);
            var generator = ArchitectureGenerator.For(preset, Number<int>(net, "constraintChannels", file, "network."),
                Number<int>(net, "hiddenChannels", file, "network."), Number<int>(net, "bodyLayers", file, "network."));
            try
            {
                AtomicFile.LoadModule(run.GeneratorWeights, generator);
                generator.to(device);
                generator.eval();
                var cost = latencyTable is null ? ConstraintCost.Create(ConstraintKind.Flops, preset)
                    : ConstraintCost.Latency(new LatencyCostModel(preset, latencyTable, applyCorrection));
                var pool = PriorPool.FromJson(Field(meta, "priorPool", file), cost, file);
                var history = meta["history"]?.Deserialize<List<GeneratorEpochMetrics>>(Json);
                var model = new ArchitectureGeneratorModel(preset, generator, pool, Number<double>(meta, "constraintLowM", file),
                    Number<double>(meta, "constraintHighM", file), options, Number<double>(meta, "temperature", file), history, device, cost);
                if (meta["calibration"] is JsonObject cal)
                {
                    model._calibration = ReadCalibration(cal, model, file);
                    model.ReadAnswers(cal, model._calibration, file);
                }
                return model;
            }
            catch
            {
                generator.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or JsonException or FormatException or ArgumentException
                                      or KeyNotFoundException or InvalidCastException)
        {
            throw new InvalidDataException($"{file}: malformed generator metadata ({SupernetCheckpoint.OneLine(e.Message)}).", e);
        }
    }

    // The stored grid costs, checked against the grid the model's interval gives (a file from another interval or a
    // truncated array must not silently shift budgets).
    private static ConstraintCalibration ReadCalibration(JsonObject node, ArchitectureGeneratorModel model, string file)
    {
        int points = Number<int>(node, "points", file, "calibration.");
        double extension = Number<double>(node, "extension", file, "calibration.");
        var costs = Field(node, "costs", file, "calibration.").AsArray().Select(c => c!.GetValue<double>()).ToArray();
        if (points < 2 || costs.Length != points)
            throw new InvalidDataException($"{file}: calibration.costs holds {costs.Length} values for {points} grid points.");
        var (min, max) = model.FeasibleRange;
        if (costs.Any(c => !double.IsFinite(c) || c < min - 1e-9 || c > max + 1e-9))
            throw new InvalidDataException($"{file}: calibration.costs holds a value outside the feasible range {min:F4}..{max:F4} {model.Cost.Unit}.");
        return ConstraintCalibration.FromGrid(ConstraintCalibration.Grid(model.LowM, model.HighM, model.FeasibleRange, points, extension), costs);
    }

    /// <summary>The constraint block of generator.json; absent means FLOPs (folders written before latency budgets).</summary>
    private static (ConstraintKind Kind, string? TableSha, string? TableOrigin, bool ApplyCorrection) ReadConstraint(JsonObject meta, string file)
    {
        if (meta["constraint"] is not { } node) return (ConstraintKind.Flops, null, null, true);
        try
        {
            var kind = ConstraintKinds.Parse(node["kind"]?.GetValue<string>() ?? "");
            if (kind == ConstraintKind.Flops) return (kind, null, null, true);
            string sha = node["latencyTableSha256"]?.GetValue<string>()
                         ?? throw new InvalidDataException($"{file}: field 'constraint.latencyTableSha256' is missing; a latency generator records its table.");
            return (kind, sha, node["latencyTableOrigin"]?.GetValue<string>() ?? "an unrecorded runtime", node["applyCorrection"]?.GetValue<bool>() ?? true);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new InvalidDataException($"{file}: field 'constraint' is malformed ({e.Message}); expected kind flops or latency.", e);
        }
    }

    private static JsonNode Field(JsonObject node, string name, string file, string prefix = "") =>
        node[name] ?? throw new InvalidDataException($"{file}: field '{prefix}{name}' is missing; expected the value written by train-generator.");

    private static T Number<T>(JsonNode node, string name, string file, string prefix = "")
    {
        var value = (node as JsonObject ?? throw new InvalidDataException($"{file}: field '{prefix.TrimEnd('.')}' must be a JSON object."))[name]
                    ?? throw new InvalidDataException($"{file}: field '{prefix}{name}' is missing; expected a number.");
        try { return value.GetValue<T>(); }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{file}: field '{prefix}{name}' is {value.ToJsonString()}; expected a number ({typeof(T).Name}).", e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => Generator.Dispose();
}
