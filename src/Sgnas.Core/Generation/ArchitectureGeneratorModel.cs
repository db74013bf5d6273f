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
/// <param name="TargetFlopsM">The requested FLOPs in M.</param>
/// <param name="Architecture">The architecture (canonical).</param>
/// <param name="FlopsM">Its exact FLOPs (Eq. 9 on one-hot, equal to <see cref="FlopsCounter"/>).</param>
/// <param name="ParamsM">Parameters of its standalone network in M (<see cref="ParameterCount"/>).</param>
/// <param name="Repaired">True if the hard limit changed the argmax architecture.</param>
public sealed record GeneratedArchitecture(double TargetFlopsM, Architecture Architecture, double FlopsM, double ParamsM, bool Repaired);

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
    /// <summary>Mean absolute relative error of generated FLOPs against targets.</summary>
    public double MeanAbsRelError { get; init; }
    /// <summary>Sum of L_C over the evaluation targets (selection criterion for the best generator, as the reference).</summary>
    public double EvalConstraintLoss { get; init; }
    /// <summary>Supernet top-1 of the architecture generated for the middle target, on a few validation batches.</summary>
    public double MiddleTop1 { get; init; }
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
/// (paper section 3.2; DESIGN.md section 1). Saved as <c>generator.pt</c> + <c>generator.json</c> in a
/// <see cref="RunFolder"/>.
/// </summary>
public sealed class ArchitectureGeneratorModel : IDisposable
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };
    private readonly FlopsLookupTable _table;
    private readonly Device _device;

    /// <summary>Wraps a generator and its pool (the generator is owned and disposed with the model).</summary>
    public ArchitectureGeneratorModel(SearchSpacePreset preset, ArchitectureGenerator generator, PriorPool pool, double lowM, double highM,
        GeneratorOptions options, double temperature, IReadOnlyList<GeneratorEpochMetrics>? history, Device device)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentNullException.ThrowIfNull(pool);
        if (generator.Layers != preset.LayerCount || generator.SubBlocks != preset.MaxExpansion || generator.Options != preset.OptionCount)
            throw new ArgumentException($"generator α map [{generator.Layers}, {generator.SubBlocks}, {generator.Options}] does not fit preset '{preset.Name}'.");
        Preset = preset; Generator = generator; PriorPool = pool; LowM = lowM; HighM = highM;
        Options = options; Temperature = temperature; History = history?.ToList() ?? new List<GeneratorEpochMetrics>();
        _device = device; _table = new FlopsLookupTable(preset);
        FeasibleRange = _table.Range();
    }

    /// <summary>The search space.</summary>
    public SearchSpacePreset Preset { get; }
    /// <summary>The generator network.</summary>
    public ArchitectureGenerator Generator { get; }
    /// <summary>The random-prior pool.</summary>
    public PriorPool PriorPool { get; }
    /// <summary>Lower end of the constraint interval (normalisation), in M.</summary>
    public double LowM { get; }
    /// <summary>Upper end of the constraint interval, in M.</summary>
    public double HighM { get; }
    /// <summary>Options the generator was trained with.</summary>
    public GeneratorOptions Options { get; }
    /// <summary>Gumbel-softmax temperature at the end of training.</summary>
    public double Temperature { get; }
    /// <summary>Per-epoch metrics of training.</summary>
    public IReadOnlyList<GeneratorEpochMetrics> History { get; }
    /// <summary>The epoch whose generator was kept (lowest evaluation constraint loss), or 0 without history.</summary>
    public int BestEpoch => History.Count == 0 ? 0 : History.MinBy(h => h.EvalConstraintLoss)!.Epoch;

    /// <summary>FLOPs of the smallest and largest architectures of the space, in M.</summary>
    public (double Min, double Max) FeasibleRange { get; }

    /// <summary>
    /// α for each target, [N, L, e_max, options], from one batched forward pass (no gradient), on the CPU.
    /// </summary>
    public Tensor Alpha(IReadOnlyList<double> targetsM)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        Generator.eval();
        var prior = PriorPool.PriorBatch(targetsM, _device);
        var c = tensor(ConstraintNormalization.NormalizeAll(targetsM, LowM, HighM), device: _device);
        int n = targetsM.Count;
        if (n <= AlphaChunk) return Generator.call(prior, c).cpu().MoveToOuterDisposeScope();
        // Every sample is independent (no batch statistics in G), so chunks give the same α. A chunk's activations
        // (32 channels over the L × e_max·options map) stay within the CPU caches; one pass over 10 000 budgets
        // would hold about 2 GB of intermediates at once (docs/performance.md).
        var chunks = new List<Tensor>((n + AlphaChunk - 1) / AlphaChunk);
        for (int start = 0; start < n; start += AlphaChunk)
        {
            int len = Math.Min(AlphaChunk, n - start);
            using var inner = NewDisposeScope();
            chunks.Add(Generator.call(prior.narrow(0, start, len), c.narrow(0, start, len)).cpu().MoveToOuterDisposeScope());
        }
        return torch.cat(chunks, 0).MoveToOuterDisposeScope();
    }

    // Budgets per generator forward pass in Alpha.
    private const int AlphaChunk = 256;

    /// <summary>
    /// Generates one architecture per target with one forward pass: argmax per sub-block, expansion rate = number of
    /// non-skip sub-blocks (<see cref="AlphaDecoding"/>); with <paramref name="hardLimit"/>, architectures over their target are
    /// repaired (<see cref="HardLimit"/>).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A target lies outside the feasible FLOPs range of the space.</exception>
    public IReadOnlyList<GeneratedArchitecture> Generate(IReadOnlyList<double> targetsM, bool hardLimit = false)
    {
        ArgumentNullException.ThrowIfNull(targetsM);
        if (targetsM.Count == 0) return Array.Empty<GeneratedArchitecture>();
        var (min, max) = FeasibleRange;
        foreach (var t in targetsM)
            if (!double.IsFinite(t) || t < min - 1e-9 || t > max + 1e-9)
                throw new ArgumentOutOfRangeException(nameof(targetsM), t,
                    $"target {t} M FLOPs is outside the feasible range {min:F4}..{max:F4} M of preset '{Preset.Name}'.");
        using var alpha = Alpha(targetsM);
        var all = alpha.data<float>().ToArray();
        int per = Preset.LayerCount * Preset.MaxExpansion * Preset.OptionCount;
        var result = new GeneratedArchitecture[targetsM.Count];
        for (int n = 0; n < targetsM.Count; n++)
        {
            var a = all.AsSpan(n * per, per);
            Architecture arch; bool repaired = false;
            if (hardLimit) (arch, repaired) = HardLimit.Apply(Preset, _table, a, targetsM[n]);
            else arch = AlphaDecoding.Decode(Preset, a);
            result[n] = new GeneratedArchitecture(targetsM[n], arch, _table.CostM(arch), ParameterCount.ChildM(Preset, arch), repaired);
        }
        return result;
    }

    /// <summary>Targets evenly spread over the interval: bin midpoints low + (i + ½)·(high − low)/n.</summary>
    public static double[] EvenTargets(double lowM, double highM, int n) =>
        Enumerable.Range(0, n).Select(i => lowM + (i + 0.5) * (highM - lowM) / n).ToArray();

    /// <summary>Writes <c>generator.pt</c> then <c>generator.json</c>, each atomically (metadata last marks completeness).</summary>
    public void Save(RunFolder run)
    {
        AtomicFile.SaveModule(run.GeneratorWeights, Generator);
        var meta = new JsonObject
        {
            ["formatVersion"] = 1,
            ["preset"] = SupernetCheckpoint.PresetNode(Preset),
            ["constraintLowM"] = LowM,
            ["constraintHighM"] = HighM,
            ["temperature"] = Temperature,
            ["network"] = new JsonObject
            {
                ["constraintChannels"] = Generator.ConstraintChannels,
                ["hiddenChannels"] = Options.HiddenChannels,
                ["bodyLayers"] = Options.BodyLayers,
            },
            ["options"] = JsonSerializer.SerializeToNode(Options, Json),
            ["priorPool"] = PriorPool.ToJson(),
            ["history"] = JsonSerializer.SerializeToNode(History, Json),
        };
        AtomicFile.WriteAllText(run.GeneratorMeta, meta.ToJsonString(Json));
    }

    /// <summary>
    /// Loads a generator from <paramref name="run"/> onto <paramref name="device"/>. The stored preset must equal
    /// <paramref name="expectedPreset"/> or, when that is null, the preset of the run's supernet (if present).
    /// </summary>
    /// <exception cref="InvalidDataException">Corrupt files, or the generator belongs to a different search space.</exception>
    public static ArchitectureGeneratorModel Load(RunFolder run, Device device, SearchSpacePreset? expectedPreset = null)
    {
        run.RequireGenerator();
        JsonNode meta;
        try { meta = JsonNode.Parse(File.ReadAllText(run.GeneratorMeta)) ?? throw new InvalidDataException($"{run.GeneratorMeta} is empty."); }
        catch (JsonException e) { throw new InvalidDataException($"{run.GeneratorMeta}: corrupt generator metadata ({e.Message}).", e); }
        try
        {
            var preset = SearchSpacePreset.FromJson(meta["preset"]!.ToJsonString(), run.GeneratorMeta);
            if (expectedPreset is null && File.Exists(run.SupernetMeta)) expectedPreset = SupernetCheckpoint.ReadPreset(run);
            if (expectedPreset is not null && expectedPreset.ToJson() != preset.ToJson())
                throw new InvalidDataException(
                    $"{run.GeneratorMeta}: the generator was trained for preset '{preset.Name}', but the supernet uses preset '{expectedPreset.Name}'" +
                    (expectedPreset.Name == preset.Name ? " with different settings" : "") + ". Retrain it with 'sgnas train-generator'.");
            var options = meta["options"]?.Deserialize<GeneratorOptions>(Json) ?? new GeneratorOptions();
            var net = meta["network"]!;
            var generator = ArchitectureGenerator.For(preset, net["constraintChannels"]!.GetValue<int>(), net["hiddenChannels"]!.GetValue<int>(),
                net["bodyLayers"]!.GetValue<int>());
            AtomicFile.LoadModule(run.GeneratorWeights, generator);
            generator.to(device);
            generator.eval();
            var pool = PriorPool.FromJson(meta["priorPool"]!, preset, run.GeneratorMeta);
            var history = meta["history"]?.Deserialize<List<GeneratorEpochMetrics>>(Json);
            return new ArchitectureGeneratorModel(preset, generator, pool, meta["constraintLowM"]!.GetValue<double>(),
                meta["constraintHighM"]!.GetValue<double>(), options, meta["temperature"]!.GetValue<double>(), history, device);
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or JsonException or FormatException)
        {
            throw new InvalidDataException($"{run.GeneratorMeta}: malformed generator metadata ({e.Message}).", e);
        }
    }

    /// <inheritdoc />
    public void Dispose() => Generator.Dispose();
}
