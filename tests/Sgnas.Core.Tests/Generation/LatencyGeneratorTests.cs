using Sgnas.Core.Tests.Cost;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Generation;

/// <summary>Latency tables for the generator tests (docs/latency.md).</summary>
internal static class LatencyTables
{
    /// <summary>
    /// A table shaped like a CPU's: depthwise convs cost far more per MAC than pointwise ones (memory-bound), and the
    /// rest of a block grows sub-linearly in e with a per-layer overhead, so latency ranks architectures differently
    /// from FLOPs. Seeded noise keeps entries distinct.
    /// </summary>
    public static LatencyTable Realistic(SearchSpacePreset p, int seed)
    {
        var rng = new Random(seed);
        var flops = new FlopsLookupTable(p);
        var t = LatencyCostModelTests.SyntheticTable(p, seed);
        var layers = t.Layers.Select((l, i) => l with
        {
            DepthwiseMs = p.Kernels.Select((_, k) => 0.002 + 2e-2 * flops.DepthwiseMacs[i, k] / 1e6 * (1 + 0.1 * rng.NextDouble())).ToArray(),
            PointwiseMs = Enumerable.Range(p.MinExpansion, p.MaxExpansion - p.MinExpansion + 1)
                .Select(e => 0.004 + 2e-3 * Math.Pow(e, 0.8) * flops.PointwiseMacs[i] / p.MaxExpansion / 1e6 * (1 + 0.1 * rng.NextDouble())).ToArray(),
        }).ToArray();
        return t with { Layers = layers, FixedMs = 0.01 };
    }
}

/// <summary>One tiny generator trained against a latency table for the whole class.</summary>
public sealed class LatencyGeneratorFixture : IDisposable
{
    public SearchSpacePreset Preset { get; } = GeneratorTestData.Tiny("tiny-lat");
    public ImageDataset Data { get; }
    public Supernet Supernet { get; }
    public LatencyTable Table { get; }
    public ConstraintCost Cost { get; }
    public ArchitectureGeneratorModel Model { get; }
    public int[] Validation { get; } = Enumerable.Range(0, 192).ToArray();
    public GeneratorOptions Options { get; } = new() { Epochs = 4, BatchSize = 32, LearningRate = 1e-2, EvaluationTargets = 6, Seed = 5 };
    public string CheckpointDir { get; } = Path.Combine(Path.GetTempPath(), "sgnas-latgen-" + Guid.NewGuid().ToString("N"));

    public LatencyGeneratorFixture()
    {
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        torch.manual_seed(11);
        try
        {
            Data = GeneratorTestData.Images(320, 1);
            Supernet = GeneratorTestData.TrainedSupernet(Preset, Data);
            Table = LatencyTables.Realistic(Preset, 3);
            Cost = ConstraintCost.Create(ConstraintKind.Latency, Preset, Table);
            Model = new GeneratorTrainer(Supernet, Options, CPU, Cost)
                .Train(Data, Validation, GeneratorTestData.Norm, checkpoint: new GeneratorCheckpoint(CheckpointDir, resume: false));
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    public void Dispose()
    {
        Model.Dispose(); Supernet.Dispose();
        if (Directory.Exists(CheckpointDir)) Directory.Delete(CheckpointDir, recursive: true);
    }
}

/// <summary>The generator trained against a latency table (docs/latency.md, "Training the generator for ms").</summary>
public class LatencyGeneratorTests(LatencyGeneratorFixture f) : IClassFixture<LatencyGeneratorFixture>
{
    [Fact]
    public void TheFlopsAndLatencyRankingsOfTheTestTableDiffer()
    {
        // Otherwise a generator that tracked FLOPs would pass the tracking test below by accident.
        var sampler = new ArchitectureSampler(f.Preset, 9);
        var archs = Enumerable.Range(0, 60).Select(_ => sampler.Sample()).ToList();
        var flops = new FlopsLookupTable(f.Preset);
        double tau = Correlation.KendallTau(archs.Select(flops.CostM).ToList(), archs.Select(f.Table.PredictMs).ToList());
        Assert.True(tau < 0.9, $"FLOPs and latency rank 60 random architectures alike (Kendall {tau:F3})");
    }

    [Fact]
    public void IntervalPoolAndMetricsAreInMilliseconds()
    {
        var (min, max) = f.Cost.Range();
        Assert.Equal(ConstraintKind.Latency, f.Model.Kind);
        Assert.Equal((min, max), f.Model.FeasibleRange);
        Assert.Equal(min, f.Model.LowM, 12);
        Assert.Equal(max, f.Model.HighM, 12);
        Assert.Equal(ConstraintKind.Latency, f.Model.PriorPool.Kind);
        Assert.All(f.Model.PriorPool.Entries, e => Assert.Equal(f.Table.PredictMs(e.Architecture), e.Cost, 12));
        Assert.All(f.Model.History, h => Assert.All(h.GeneratedM, ms => Assert.InRange(ms, min - 1e-9, max + 1e-9)));
    }

    [Fact]
    public void GeneratedArchitecturesTrackMillisecondTargetsBetterThanChance()
    {
        var targets = ArchitectureGeneratorModel.EvenTargets(f.Model.LowM, f.Model.HighM, 10);
        var picks = f.Model.Generate(targets);
        var ms = picks.Select(g => g.Cost).ToArray();
        Assert.All(picks, g =>
        {
            Assert.Equal(ConstraintKind.Latency, g.Kind);
            Assert.True(double.IsNaN(g.TargetFlopsM));
            Assert.Equal(f.Table.PredictMs(g.Architecture), g.Cost, 12);
            Assert.Equal(new FlopsLookupTable(f.Preset).CostM(g.Architecture), g.FlopsM, 9);
        });
        double tau = Correlation.KendallTau(targets, ms);
        // Chance: Kendall τ of independent outputs has mean 0 and standard deviation ≈ 0.25 for 10 points.
        Assert.True(tau > 0.6, $"Kendall {tau:F3}: generated {string.Join(", ", ms.Select(x => x.ToString("F4")))} for {string.Join(", ", targets.Select(x => x.ToString("F4")))}");
        // Chance for the error: an architecture drawn at random for each target, whatever the target.
        var sampler = new ArchitectureSampler(f.Preset, 4);
        double chance = targets.Average(t => Enumerable.Range(0, 200).Average(_ => Math.Abs(f.Table.PredictMs(sampler.Sample()) - t) / t));
        double mare = Correlation.MeanAbsoluteRelativeError(targets, ms);
        Assert.True(mare < chance, $"mean relative error {mare:P1}, random architectures {chance:P1}");
    }

    [Fact]
    public void HardLimitKeepsEveryPickUnderItsMillisecondBudget()
    {
        var (min, max) = f.Model.FeasibleRange;
        var targets = Enumerable.Range(0, 12).Select(i => min + (max - min) * i / 11.0).ToArray();
        var picks = f.Model.Generate(targets, hardLimit: true);
        var raw = f.Model.Generate(targets);
        for (int i = 0; i < targets.Length; i++)
        {
            Assert.True(picks[i].Cost <= targets[i] + 1e-9, $"{picks[i].Cost} ms over {targets[i]} ms");
            Assert.True(picks[i].WithinTarget);
            Assert.Equal(raw[i].Cost > targets[i] + 1e-9, picks[i].Repaired);
            if (!picks[i].Repaired) Assert.Equal(raw[i].Path, picks[i].Path);
        }
    }

    [Fact]
    public void SaveRecordsTheKindAndTableAndLoadRefusesAMismatch()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sgnas-latgen-run-" + Guid.NewGuid().ToString("N"));
        try
        {
            var run = new RunFolder(dir);
            SupernetCheckpoint.Save(run, f.Supernet, new SupernetCheckpointInfo { Preset = SupernetCheckpoint.PresetNode(f.Preset) });
            f.Model.Save(run);
            Assert.Equal("latency", RunConstraint.Read(dir).Kind);
            Assert.True(File.Exists(Path.Combine(dir, RunConstraint.LatencyTableFileName)));

            // the default (FLOPs) refuses, naming both kinds and what to do
            var e = Assert.Throws<ConstraintMismatchException>(() => ArchitectureGeneratorModel.Load(run, CPU));
            Assert.Contains("latency budgets", e.Message);
            Assert.Contains("--budget-ms", e.Message);

            using (var back = ArchitectureGeneratorModel.Load(run, CPU, expectedKind: ConstraintKind.Latency, expectedTable: f.Table))
            {
                var targets = ArchitectureGeneratorModel.EvenTargets(f.Model.LowM, f.Model.HighM, 5);
                Assert.Equal(f.Model.Generate(targets).Select(g => g.Path), back.Generate(targets).Select(g => g.Path));
                Assert.Equal(f.Cost.Identity, back.Cost.Identity);
                Assert.Equal(f.Model.PriorPool.Entries, back.PriorPool.Entries);
            }

            // another machine's table: refused with both origins
            var other = f.Table with { CreatedUtc = "2026-12-02T00:00:00Z", FixedMs = f.Table.FixedMs + 0.01 };
            e = Assert.Throws<ConstraintMismatchException>(() => ArchitectureGeneratorModel.Load(run, CPU, expectedKind: ConstraintKind.Latency, expectedTable: other));
            Assert.Contains("not the table given", e.Message);
            Assert.Contains("2026-12-02", e.Message);

            // the folder's table edited after training: refused
            other.Save(Path.Combine(dir, RunConstraint.LatencyTableFileName));
            e = Assert.Throws<ConstraintMismatchException>(() => ArchitectureGeneratorModel.Load(run, CPU, expectedKind: ConstraintKind.Latency));
            Assert.Contains("not the latency table the generator", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void ResumingTheCheckpointForAnotherConstraintIsRefused()
    {
        torch.set_num_threads(1);
        var trainer = new GeneratorTrainer(f.Supernet, f.Options, CPU); // FLOPs
        var e = Assert.Throws<InvalidOperationException>(() =>
            trainer.Train(f.Data, f.Validation, GeneratorTestData.Norm, checkpoint: new GeneratorCheckpoint(f.CheckpointDir, resume: true)));
        Assert.Contains("constraint", e.Message);
        Assert.Contains("latency:", e.Message);
    }
}

/// <summary>The relaxed latency cost the generator trains through, and the hard limit in ms.</summary>
public class LatencyConstraintTests
{
    [Theory]
    [InlineData("fashion-small")]
    [InlineData("imagenet")]
    public void RelaxedCostOfAOneHotPositionalMapEqualsTheTableSum(string name)
    {
        var p = SearchSpacePreset.Load(name);
        var table = LatencyCostModelTests.SyntheticTable(p, 21);
        var cost = ConstraintCost.Create(ConstraintKind.Latency, p, table);
        var rng = new Random(3);
        int L = p.LayerCount, S = p.MaxExpansion, O = p.OptionCount;
        for (int n = 0; n < 20; n++)
        {
            // any positional path, middle skips included (the generator's argmax may place them anywhere allowed)
            var opts = new int[L * S];
            for (int i = 0; i < L * S; i++)
                opts[i] = ForcedSampling.SkipAllowed(p, i % S) && rng.Next(3) == 0 ? p.SkipIndex : rng.Next(p.Kernels.Count);
            var path = SupernetPath.FromOptions(p, opts);
            var oneHot = new double[L * S * O];
            for (int i = 0; i < L * S; i++) oneHot[i * O + opts[i]] = 1;
            using var m = tensor(oneHot, new long[] { 1, L, S, O }, dtype: float64);
            Assert.Equal(table.SumMs(path.ToArchitecture()), cost.Of(m).item<double>(), 9);
            Assert.Equal(table.SumMs(path.ToArchitecture()), cost.Of(path.ToArchitecture()), 12);
        }
    }

    [Fact]
    public void RelaxedLatencyCostHasGradientsForTheGenerator()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var cost = ConstraintCost.Create(ConstraintKind.Latency, p, LatencyCostModelTests.SyntheticTable(p, 5));
        using var alpha = randn(1, p.LayerCount, p.MaxExpansion, p.OptionCount).requires_grad_();
        using var mask = GumbelSoftmax.Mask(p, CPU);
        using var g = GumbelSoftmax.Noise(alpha.shape, new torch.Generator(1), CPU);
        using var relaxed = GumbelSoftmax.Relax(alpha, 1.0, mask, g, hard: false);
        using var c = cost.Of(relaxed);
        c.sum().backward();
        Assert.True(alpha.grad is not null && alpha.grad.abs().sum().item<float>() > 0);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void HardLimitRepairLandsUnderAMillisecondBudget(bool monotone)
    {
        var p = SearchSpacePreset.Load("fashion-small");
        // the random table is not monotone in e: the repair's fallback to the smallest architecture is exercised too
        var table = monotone ? LatencyTables.Realistic(p, 8) : LatencyCostModelTests.SyntheticTable(p, 8);
        var cost = ConstraintCost.Create(ConstraintKind.Latency, p, table);
        double min = cost.Of(Architecture.Smallest(p));
        var rng = new Random(2);
        int n = p.LayerCount * p.MaxExpansion * p.OptionCount, repaired = 0;
        for (int trial = 0; trial < 30; trial++)
        {
            var alpha = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
            var raw = AlphaDecoding.DecodePath(p, alpha);
            double rawMs = cost.Of(raw.ToArchitecture());
            double target = min + (rawMs - min) * rng.NextDouble() * 1.2;
            var (path, rep) = HardLimit.ApplyPath(p, cost, alpha, target);
            double ms = cost.Of(path.ToArchitecture());
            Assert.True(ms <= target + 1e-9, $"{ms} ms over the budget {target} ms");
            Assert.Equal(rawMs > target + 1e-9, rep);
            if (!rep) Assert.Equal(raw, path);
            if (rep) repaired++;
        }
        Assert.True(repaired > 5, $"only {repaired} of 30 needed a repair; the test would not test it");
        Assert.Throws<ArgumentOutOfRangeException>(() => HardLimit.ApplyPath(p, cost, new float[n], min * 0.5));
    }

    [Fact]
    public void FlopsHardLimitThroughTheConstraintCostIsTheFlopsRepair()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var table = new FlopsLookupTable(p);
        var rng = new Random(4);
        int n = p.LayerCount * p.MaxExpansion * p.OptionCount;
        var (min, max) = table.Range();
        for (int trial = 0; trial < 10; trial++)
        {
            var alpha = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble()).ToArray();
            double target = min + (max - min) * rng.NextDouble();
            Assert.Equal(HardLimit.ApplyPath(p, table, alpha, target), HardLimit.ApplyPath(p, ConstraintCost.Flops(table), alpha, target));
        }
    }

    [Fact]
    public void TrainerRefusesMeasuredLatencyAndACostOfAnotherPreset()
    {
        var p = GeneratorTestData.Tiny("tiny-lat2");
        using var net = new Supernet(p);
        using var runtime = new TorchLatencyRuntime();
        var e = Assert.Throws<ArgumentException>(() => new GeneratorTrainer(net, null, CPU, new MeasuredLatencyCost(p, runtime)));
        Assert.Contains("differentiable", e.Message);
        var other = SearchSpacePreset.Load("fashion-small");
        e = Assert.Throws<ArgumentException>(() => new GeneratorTrainer(net, null, CPU, ConstraintCost.Create(ConstraintKind.Latency, other, LatencyCostModelTests.SyntheticTable(other, 1))));
        Assert.Contains("fashion-small", e.Message);
    }

    [Fact]
    public void LatencyPriorPoolRoundTripsAndIsNotReadAsFlops()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var cost = ConstraintCost.Create(ConstraintKind.Latency, p, LatencyTables.Realistic(p, 2));
        var (min, max) = cost.Range();
        var pool = PriorPool.Build(cost, min, max, buckets: 5, seed: 1, maxTries: 300);
        var back = PriorPool.FromJson(pool.ToJson(), cost);
        Assert.Equal(pool.Entries, back.Entries);
        Assert.All(pool.Entries, e => Assert.Equal(cost.Of(e.Architecture), e.Cost, 12));
        Assert.True(pool.Entries.Zip(pool.Entries.Skip(1)).All(x => x.Second.Cost > x.First.Cost), "priors ordered by predicted ms");
        var err = Assert.Throws<InvalidDataException>(() => PriorPool.FromJson(pool.ToJson(), p));
        Assert.Contains("latency", err.Message);
    }
}
