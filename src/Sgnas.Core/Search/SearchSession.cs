using System.Globalization;
using System.Text.Json.Nodes;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.Training;
using static TorchSharp.torch;

namespace Sgnas.Search;

/// <summary>Options of a <see cref="SearchSession"/>.</summary>
public sealed record SearchSessionOptions
{
    /// <summary>Evaluation protocol shared by every strategy.</summary>
    public CandidateEvaluatorOptions Evaluation { get; init; } = new();

    /// <summary>Dataset to read instead of the one named in supernet.json (null: as trained).</summary>
    public string? DatasetPath { get; init; }
}

/// <summary>
/// A trained supernet from a run folder with its evaluation data, ready for searching: loads the weights, the
/// training set and the supernet's own train/validation split, and builds the shared <see cref="CandidateEvaluator"/>.
/// </summary>
public sealed class SearchSession : IDisposable
{
    private ArchitectureGeneratorModel? _generator;

    private SearchSession(RunFolder run, Supernet net, CandidateEvaluator evaluator, SupernetDataSplit split, Device device)
    {
        Run = run; Supernet = net; Evaluator = evaluator; Split = split; Device = device;
    }

    /// <summary>The device the supernet (and a loaded generator) runs on.</summary>
    public Device Device { get; }

    /// <summary>The run folder.</summary>
    public RunFolder Run { get; }

    /// <summary>The loaded supernet (eval mode).</summary>
    public Supernet Supernet { get; }

    /// <summary>The evaluator every strategy of this session scores with.</summary>
    public CandidateEvaluator Evaluator { get; }

    /// <summary>The split used.</summary>
    public SupernetDataSplit Split { get; }

    /// <summary>Opens <paramref name="runDir"/> on <paramref name="device"/>.</summary>
    /// <exception cref="FileNotFoundException">No trained supernet in the folder, or the dataset is missing.</exception>
    public static SearchSession Open(string runDir, Device device, SearchSessionOptions? options = null)
    {
        options ??= new SearchSessionOptions();
        options.Evaluation.Validate();
        var run = new RunFolder(runDir);
        var (net, info) = SupernetCheckpoint.Load(run, device);
        try
        {
            var split = SupernetDataSplit.FromOptions(info.Options);
            if (options.DatasetPath != null) split = split with { DatasetPath = options.DatasetPath };
            var p = net.Preset;
            // Image folders are decoded at the preset's input size, as the supernet was trained on them (IDX and CIFAR
            // files have a fixed size and are checked below).
            var data = DatasetLoader.Load(split.DatasetPath, DatasetSplit.Train, CifarLabelKind.Fine, (p.InputChannels, p.InputSize));
            // IDX files carry no class count (the reader assumes at least 10), so labels are checked, not the count.
            int maxLabel = data.Labels.Length == 0 ? -1 : data.Labels.Max();
            if (data.Channels != p.InputChannels || data.Height != p.InputSize || data.Width != p.InputSize || maxLabel >= p.NumClasses)
                throw new InvalidDataException(
                    $"dataset {split.DatasetPath ?? "Fashion-MNIST"} has {data.Channels}×{data.Height}×{data.Width} images with labels up to {maxLabel}; " +
                    $"the supernet in {run.SupernetMeta} (preset '{p.Name}') expects {p.InputChannels}×{p.InputSize}×{p.InputSize} and labels below {p.NumClasses}.");
            var indices = split.Indices(data);
            var norm = new ChannelNormalization(p.Mean.ToArray(), p.Std.ToArray());
            var evalData = EvaluationData.Create(data, indices.Train, indices.Validation, norm, options.Evaluation, device);
            return new SearchSession(run, net, new CandidateEvaluator(net, evalData), split, device);
        }
        catch
        {
            net.Dispose();
            throw;
        }
    }

    /// <summary>Random search on this session's evaluator (<paramref name="cost"/>: null for FLOPs, or a latency cost; targets in its unit).</summary>
    public ISearchStrategy RandomSearch(RandomSearchOptions? options = null, Cost.ConstraintCost? cost = null) => TunerSearchStrategy.Random(Evaluator, options, cost);

    /// <summary>Evolutionary search on this session's evaluator (<paramref name="cost"/>: null for FLOPs, or a latency cost; targets in its unit).</summary>
    public ISearchStrategy EvolutionSearch(EvolutionSearchOptions? options = null, Cost.ConstraintCost? cost = null) => TunerSearchStrategy.Evolution(Evaluator, options, cost);

    /// <summary>
    /// The cost a budget of <paramref name="kind"/> is judged with on this session's search space (docs/latency.md):
    /// FLOPs (Eq. 9), or latency predicted by the table at <paramref name="latencyTablePath"/> (measured for this
    /// preset). For judging on measured latency, wrap a runtime in <see cref="Cost.MeasuredLatencyCost"/> instead.
    /// </summary>
    /// <exception cref="ArgumentException">Latency without a table, or a table of another preset.</exception>
    public Cost.ConstraintCost ConstraintCost(Cost.ConstraintKind kind, string? latencyTablePath = null) =>
        Cost.ConstraintCost.Create(kind, Supernet.Preset, latencyTablePath is null ? null : Cost.LatencyTable.Load(latencyTablePath));

    /// <summary>Names accepted by <see cref="CreateStrategy(string, RandomSearchOptions?, EvolutionSearchOptions?, bool)"/>.</summary>
    public static IReadOnlyList<string> StrategyNames { get; } = new[] { "random", "evolution", "generator", "unas" };

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="name"/> is a strategy name (checked before loading anything).</summary>
    public static void ValidateStrategyName(string name)
    {
        if (!StrategyNames.Contains(name.ToLowerInvariant()))
            throw new ArgumentException($"unknown search strategy '{name}'; use {string.Join(", ", StrategyNames)}.", nameof(name));
    }

    /// <summary>The strategy named <paramref name="name"/>: "random", "evolution" or "generator" (needs generator.json).</summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="FileNotFoundException">"generator" without a trained generator in the run folder.</exception>
    public ISearchStrategy CreateStrategy(string name, RandomSearchOptions? random = null, EvolutionSearchOptions? evolution = null,
        bool generatorHardLimit = false) => CreateStrategy(name, null, random, evolution, generatorHardLimit);

    /// <summary>
    /// The strategy named <paramref name="name"/> for budgets judged by <paramref name="cost"/> (null: FLOPs; a latency
    /// cost: targets in ms). The generator must have been trained for the cost's kind (and table).
    /// </summary>
    /// <exception cref="ArgumentException">Unknown name.</exception>
    /// <exception cref="Generation.ConstraintMismatchException">The run's generator answers the other kind or another table.</exception>
    public ISearchStrategy CreateStrategy(string name, Cost.ConstraintCost? cost, RandomSearchOptions? random = null, EvolutionSearchOptions? evolution = null,
        bool generatorHardLimit = false, UnasOptions? unas = null)
    {
        ValidateStrategyName(name);
        return name.ToLowerInvariant() switch
        {
            "random" => RandomSearch(random, cost),
            "evolution" => EvolutionSearch(evolution, cost),
            "unas" => cost is null ? UnasSearchStrategy.FromSession(this, unas) : UnasSearchStrategy.FromSession(this, unas, cost),
            _ => GeneratorSearch(generatorHardLimit, cost?.Kind ?? Cost.ConstraintKind.Flops, cost?.LatencyTable),
        };
    }

    /// <summary>True if the run folder holds a trained generator.</summary>
    public bool HasGenerator => File.Exists(Run.GeneratorMeta) && File.Exists(Run.GeneratorWeights);

    /// <summary>
    /// The generator strategy of this run folder (the model is loaded once and disposed with the session); its
    /// training time, counted once, is <see cref="GeneratorTrainingSeconds"/>.
    /// </summary>
    /// <param name="hardLimit">Repair generated architectures over their target until they fit.</param>
    /// <exception cref="FileNotFoundException">No generator in the run folder.</exception>
    public GeneratorSearchStrategy GeneratorSearch(bool hardLimit = false) => GeneratorSearch(hardLimit, Cost.ConstraintKind.Flops);

    /// <summary>
    /// The generator strategy for budgets of <paramref name="kind"/>; the run's generator must have been trained for
    /// that kind (and, when <paramref name="latencyTable"/> is given, against that table).
    /// </summary>
    /// <exception cref="Generation.ConstraintMismatchException">The generator answers the other kind or another table.</exception>
    public GeneratorSearchStrategy GeneratorSearch(bool hardLimit, Cost.ConstraintKind kind, Cost.LatencyTable? latencyTable = null)
    {
        if (_generator is not null && (_generator.Kind != kind || (latencyTable is not null && _generator.Cost.LatencyTable?.Sha256() != latencyTable.Sha256())))
        {
            _generator.Dispose();
            _generator = null;
        }
        _generator ??= ArchitectureGeneratorModel.Load(Run, Device, Supernet.Preset, kind, latencyTable);
        return GeneratorSearchStrategy.FromModel(_generator, Evaluator, hardLimit, GeneratorTrainingSeconds());
    }

    /// <summary>
    /// The generator's training time in seconds from <c>generator.json</c>: the field <c>trainingSeconds</c>, or
    /// when absent the sum of the per-epoch <c>seconds</c> in its <c>history</c>; 0 when neither can be read.
    /// </summary>
    public double GeneratorTrainingSeconds() => ReadTrainingSeconds(Run.GeneratorMeta);

    /// <summary>Training time in seconds recorded in a <c>generator.json</c> (see <see cref="GeneratorTrainingSeconds"/>).</summary>
    public static double ReadTrainingSeconds(string generatorMetaPath)
    {
        if (!File.Exists(generatorMetaPath)) return 0;
        try
        {
            if (JsonNode.Parse(File.ReadAllText(generatorMetaPath)) is not JsonObject node) return 0;
            if (Field(node, "trainingSeconds") is JsonValue v && v.TryGetValue(out double s) && s >= 0) return s;
            if (Field(node, "history") is JsonArray history)
                return history.OfType<JsonObject>().Sum(h => Field(h, "seconds") is JsonValue e && e.TryGetValue(out double x) && x >= 0 ? x : 0);
            return 0;
        }
        catch (System.Text.Json.JsonException) { return 0; }
    }

    private static JsonNode? Field(JsonObject o, string name) =>
        o.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <inheritdoc />
    public void Dispose()
    {
        _generator?.Dispose();
        Evaluator.Dispose();
        Supernet.Dispose();
    }
}
