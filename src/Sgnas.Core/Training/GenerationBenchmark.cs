using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;

namespace Sgnas.Training;

/// <summary>Median in-process time of <see cref="ArchitectureGeneratorModel.Generate"/> for one number of budgets.</summary>
/// <param name="Budgets">Targets per call (evenly spread over the constraint interval).</param>
/// <param name="TotalMs">Median wall time of the whole call as users make it (calibrated, the default): decoded
/// architectures with exact FLOPs and parameter counts, G's outputs at the calibration's grid inputs already known.</param>
/// <param name="ForwardMs">Median wall time of the generator's batched forward pass at the budgets themselves (<see cref="ArchitectureGeneratorModel.Alpha"/>).</param>
/// <param name="MacsPerBudgetM">Multiply-accumulates of the generator's convolutions per budget, in M (the arithmetic floor of a forward pass).</param>
/// <param name="BestTotalMs">Fastest whole call (on a shared machine the best of several is the least disturbed).</param>
/// <param name="BestForwardMs">Fastest forward pass.</param>
public sealed record GenerationTiming(int Budgets, double TotalMs, double ForwardMs, double MacsPerBudgetM, double BestTotalMs, double BestForwardMs)
{
    /// <summary>Fastest first call after <see cref="ArchitectureGeneratorModel.Load"/> (the model saved once, loaded
    /// afresh for every call; the load itself is not timed): the answers stored with the calibration are read at load.</summary>
    public double BestColdMs { get; init; }

    /// <summary>Fastest calibrated call with nothing known yet (a folder written before answers were stored):
    /// G runs once at every distinct grid input the budgets need.</summary>
    public double BestUnknownMs { get; init; }

    /// <summary>Fastest <see cref="ArchitectureGeneratorModel.Load"/> of the saved model.</summary>
    public double BestLoadMs { get; init; }

    /// <summary>Median raw call (<c>calibrated: false</c>): G at every budget itself, decoded and counted.</summary>
    public double RawMs { get; init; }

    /// <summary>Fastest raw call.</summary>
    public double BestRawMs { get; init; }

    /// <summary>Distinct grid inputs the budgets were answered at (G's forward passes of a cold call).</summary>
    public int GridInputs { get; init; }

    /// <summary>One measurement of the calibration (G over the whole grid), paid once per model when it is saved.</summary>
    public double CalibrationMs { get; init; }
}

/// <summary>
/// Times generation in process, after warm-up, with a generator of the default shape and untrained weights: N budgets
/// in one call, decoded, with exact FLOPs and parameter counts; calibrated (the default) warm and cold, and raw. The raw
/// time does not depend on the weights; the cold calibrated time depends on how many grid inputs the budgets reach.
/// </summary>
public static class GenerationBenchmark
{
    /// <summary>
    /// Runs <paramref name="repeats"/> calls per entry of <paramref name="budgets"/> and returns the medians; the generator
    /// has the paper's shape unless <paramref name="hiddenChannels"/> gives another width of its hidden convolutions.
    /// </summary>
    public static IReadOnlyList<GenerationTiming> Run(SearchSpacePreset preset, IReadOnlyList<int> budgets, int repeats = 7, int? threads = null, int seed = 0,
        int? hiddenChannels = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(budgets);
        if (repeats < 1) throw new ArgumentOutOfRangeException(nameof(repeats), repeats, "repeats must be at least 1.");
        if (budgets.FirstOrDefault(n => n < 1, 1) is int bad and < 1)
            throw new ArgumentOutOfRangeException(nameof(budgets), bad, "budgets must be positive.");
        TorchNative.EnsureLoaded();
        if (threads is int t) torch.set_num_threads(t);
        var o = new GeneratorOptions { Seed = seed };
        if (hiddenChannels is int hidden) o = o with { HiddenChannels = hidden };
        o.Validate();
        var table = new FlopsLookupTable(preset);
        var (low, high) = table.ConstraintInterval();
        using var model = new ArchitectureGeneratorModel(preset, ArchitectureGenerator.For(preset, o.ConstraintChannels, o.HiddenChannels, o.BodyLayers, seed),
            PriorPool.Build(preset, low, high, o.PriorBuckets, seed, o.PriorMaxTries), low, high, o, o.InitialTemperature, null, torch.CPU);
        double macs = MacsPerBudget(preset, o) / 1e6;
        var result = new List<GenerationTiming>();
        model.Generate([low], calibrated: false); // warm-up of the forward pass (not of the calibration)
        var clock = Stopwatch.StartNew();
        var calibration = model.Calibration; // measured here (a saved model carries it)
        double calibrationMs = clock.Elapsed.TotalMilliseconds;
        string folder = Path.Combine(Path.GetTempPath(), "sgnas-bench-generation-" + Guid.NewGuid().ToString("N")[..12]);
        var run = new IO.RunFolder(folder);
        try
        {
            Directory.CreateDirectory(folder);
            model.Save(run);
            foreach (int n in budgets) result.Add(Time(n));
        }
        finally
        {
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } // a leftover temp folder is harmless
        }
        return result;

        GenerationTiming Time(int n)
        {
            var targets = ArchitectureGeneratorModel.EvenTargets(low, high, n);
            model.Generate(targets); // warm-up: first-call allocations and kernel selection
            model.Generate(targets, calibrated: false);
            var total = new List<double>();
            var forward = new List<double>();
            var raw = new List<double>();
            var cold = new List<double>();
            var unknown = new List<double>();
            var load = new List<double>();
            for (int r = 0; r < repeats; r++)
            {
                var sw = Stopwatch.StartNew();
                var generated = model.Generate(targets);
                total.Add(sw.Elapsed.TotalMilliseconds);
                if (generated.Count != n) throw new InvalidOperationException($"Generate returned {generated.Count} architectures for {n} budgets.");
                sw.Restart();
                using (var loaded = ArchitectureGeneratorModel.Load(run, torch.CPU, preset))
                {
                    load.Add(sw.Elapsed.TotalMilliseconds);
                    sw.Restart();
                    loaded.Generate(targets);
                    cold.Add(sw.Elapsed.TotalMilliseconds);
                }
                // The same calibration values in a new object, so nothing is known yet.
                var fresh = ConstraintCalibration.FromGrid(calibration.GridInputs, calibration.GridCosts);
                sw.Restart();
                model.GenerateWith(targets, hardLimit: false, fresh);
                unknown.Add(sw.Elapsed.TotalMilliseconds);
                sw.Restart();
                model.Generate(targets, calibrated: false);
                raw.Add(sw.Elapsed.TotalMilliseconds);
                sw.Restart();
                model.Alpha(targets).Dispose();
                forward.Add(sw.Elapsed.TotalMilliseconds);
            }
            return new GenerationTiming(n, Median(total), Median(forward), macs, total.Min(), forward.Min())
            {
                BestColdMs = cold.Min(), BestUnknownMs = unknown.Min(), BestLoadMs = load.Min(), RawMs = Median(raw), BestRawMs = raw.Min(),
                GridInputs = targets.Select(calibration.InputFor).Distinct().Count(), CalibrationMs = calibrationMs,
            };
        }
    }

    /// <summary>
    /// Multiply-accumulates of the generator's convolutions per budget (3×3 convs over the L × e_max·options map):
    /// head, body and tail. The two input heads are not per budget: generation runs the prior head once per prior
    /// of the pool and the constraint head twice in all (<see cref="ArchitectureGenerator.ForwardShared"/>).
    /// </summary>
    public static double MacsPerBudget(SearchSpacePreset preset, GeneratorOptions o)
    {
        double pixels = preset.LayerCount * preset.MaxExpansion * preset.OptionCount, n = o.HiddenChannels;
        return pixels * 9 * (n * n + o.BodyLayers * n * n + n * 1);
    }

    private static double Median(List<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}
