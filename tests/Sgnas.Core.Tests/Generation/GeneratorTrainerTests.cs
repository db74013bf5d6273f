using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Generation;

/// <summary>Trains one tiny generator for the whole class (keeps the suite fast).</summary>
public sealed class TrainedGeneratorFixture : IDisposable
{
    public SearchSpacePreset Preset { get; } = GeneratorTestData.Tiny();
    public ImageDataset Data { get; }
    public Supernet Supernet { get; }
    public Dictionary<string, float[]> Before { get; }
    public ArchitectureGeneratorModel Model { get; }
    public List<TrainingProgress> Reports { get; } = new();
    public int[] Validation { get; }
    public GeneratorOptions Options { get; } = new() { Epochs = 4, BatchSize = 32, LearningRate = 1e-2, EvaluationTargets = 6, Seed = 5 };
    public double Seconds { get; }

    public TrainedGeneratorFixture()
    {
        // One thread and a fixed torch seed: multi-threaded reductions would make the brief training (and the
        // assertions on its outcome) vary from run to run.
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        torch.manual_seed(11);
        try
        {
            Data = GeneratorTestData.Images(320, 1);
            Supernet = GeneratorTestData.TrainedSupernet(Preset, Data);
            Before = Supernet.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.to_type(ScalarType.Float32).data<float>().ToArray());
            Validation = Enumerable.Range(0, 192).ToArray();
            var clock = Stopwatch.StartNew();
            Model = new GeneratorTrainer(Supernet, Options, CPU).Train(Data, Validation, GeneratorTestData.Norm, new SyncProgress(Reports));
            Seconds = clock.Elapsed.TotalSeconds;
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    public void Dispose() { Model.Dispose(); Supernet.Dispose(); }

    private sealed class SyncProgress(List<TrainingProgress> list) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => list.Add(value);
    }
}

public class GeneratorTrainerTests(TrainedGeneratorFixture f) : IClassFixture<TrainedGeneratorFixture>
{
    [Fact]
    public void SupernetWeightsAndBatchNormStatisticsAreUnchanged()
    {
        foreach (var (k, v) in f.Supernet.state_dict())
            Assert.True(f.Before[k].SequenceEqual(v.to_type(ScalarType.Float32).data<float>().ToArray()), $"{k} changed");
        Assert.True(f.Supernet.parameters().All(p => p.requires_grad), "requires_grad flags are restored after training");
        Assert.False(f.Supernet.training);
    }

    [Fact]
    public void HistoryAndProgressCoverEveryEpoch()
    {
        Assert.Equal(f.Options.Epochs, f.Model.History.Count);
        Assert.Equal(f.Options.Epochs, f.Reports.Count(r => r.EpochDone));
        Assert.All(f.Model.History, h =>
        {
            Assert.True(double.IsFinite(h.Loss) && double.IsFinite(h.CrossEntropy) && h.ConstraintLoss >= 0);
            Assert.InRange(h.MiddleTop1, 0, 1);
            Assert.InRange(h.MeanTop1, 0, 1);
            Assert.Equal(f.Options.AccuracyTargets, h.Top1PerTarget.Length);
            Assert.Equal(h.Top1PerTarget.Average(), h.MeanTop1, 12);
            Assert.Equal(h.MeanAbsRelError <= f.Options.SelectionTolerance, h.WithinTolerance);
            Assert.Equal(6, h.TargetsM.Length);
        });
        Assert.Equal(5.0 * 0.95 * 0.95 * 0.95, f.Model.History[^1].Temperature, 9);
    }

    [Fact]
    public void KeptGeneratorIsTheSelectedEpochs()
    {
        var sel = GeneratorSelection.Select(f.Model.History, f.Options.Selection, f.Options.SelectionTolerance)!;
        Assert.Equal(sel.Epoch, f.Model.BestEpoch);
        // The kept weights reproduce that epoch's evaluation exactly: its FLOPs per target (calibrated generation, as
        // training evaluates, with the calibration of the kept weights) and its top-1 per target.
        var generated = f.Model.Generate(sel.TargetsM);
        Assert.Equal(sel.GeneratedM, generated.Select(g => g.FlopsM).ToArray());
        var picks = f.Model.Generate(sel.AccuracyTargetsM);
        Assert.All(picks, g => Assert.Equal(g.Architecture, g.Path!.ToArchitecture()));
    }

    [Fact]
    public void HigherTargetGivesMoreFlopsAfterBriefTraining()
    {
        var targets = ArchitectureGeneratorModel.EvenTargets(f.Model.LowM, f.Model.HighM, 6);
        var flops = f.Model.Generate(targets).Select(g => g.FlopsM).ToArray();
        Assert.True(flops[^1] > flops[0], $"generated {string.Join(", ", flops.Select(x => x.ToString("F4")))} for {string.Join(", ", targets.Select(x => x.ToString("F4")))}");
        Assert.True(Correlation.KendallTau(targets, flops) > 0.5, $"Kendall {Correlation.KendallTau(targets, flops)}");
    }

    [Fact]
    public void OneBatchEqualsSingleGenerations()
    {
        var targets = new[] { f.Model.LowM + 0.1, (f.Model.LowM + f.Model.HighM) / 2, f.Model.HighM - 0.05 };
        var batch = f.Model.Generate(targets, hardLimit: true);
        for (int i = 0; i < targets.Length; i++)
        {
            var one = f.Model.Generate(new[] { targets[i] }, hardLimit: true)[0];
            Assert.Equal(one, batch[i] with { Architecture = one.Architecture });
            Assert.Equal(one.Architecture, batch[i].Architecture);
            Assert.True(batch[i].FlopsM <= targets[i] + 1e-9);
            Assert.Equal(ParameterCount.ChildM(f.Preset, batch[i].Architecture), batch[i].ParamsM);
        }
    }

    [Fact]
    public void TargetsOutsideTheFeasibleRangeAreRejected()
    {
        var (min, max) = f.Model.FeasibleRange;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => f.Model.Generate(new[] { max * 2 }));
        Assert.Contains("feasible range", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => f.Model.Generate(new[] { min / 2 }));
    }

    [Fact]
    public void SaveLoadRoundTripAndPresetMismatch()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sgnas-gen-" + Guid.NewGuid().ToString("N"));
        try
        {
            var run = new RunFolder(dir);
            SupernetCheckpoint.Save(run, f.Supernet, new SupernetCheckpointInfo { Preset = SupernetCheckpoint.PresetNode(f.Preset) });
            f.Model.Save(run);
            Assert.False(Directory.EnumerateFiles(dir, "*.tmp").Any());
            using var back = ArchitectureGeneratorModel.Load(run, CPU);
            var targets = ArchitectureGeneratorModel.EvenTargets(f.Model.LowM, f.Model.HighM, 5);
            Assert.Equal(f.Model.Generate(targets).Select(g => g.Architecture), back.Generate(targets).Select(g => g.Architecture));
            Assert.Equal(f.Model.History.Count, back.History.Count);
            Assert.Equal(f.Model.History[^1].KendallTau, back.History[^1].KendallTau);
            Assert.Equal(f.Model.Temperature, back.Temperature);
            Assert.Equal(f.Model.PriorPool.Entries, back.PriorPool.Entries);

            // a supernet of another preset in the same folder: clear error
            var other = GeneratorTestData.Tiny("tiny-other", head: 24);
            using (var sn = new Supernet(other))
                SupernetCheckpoint.Save(run, sn, new SupernetCheckpointInfo { Preset = SupernetCheckpoint.PresetNode(other) });
            var e = Assert.Throws<InvalidDataException>(() => ArchitectureGeneratorModel.Load(run, CPU));
            Assert.Contains("tiny-gen", e.Message);
            Assert.Contains("tiny-other", e.Message);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}

public class GeneratorTrainerGuardTests
{
    [Fact]
    public void NaNLossStopsWithAClearError()
    {
        var p = GeneratorTestData.Tiny();
        var data = GeneratorTestData.Images(40, 2);
        using var net = new Supernet(p);
        net.eval();
        using (no_grad()) net.parameters().First().fill_(float.NaN);
        var trainer = new GeneratorTrainer(net, new GeneratorOptions { Epochs = 1, BatchSize = 20 }, CPU);
        var e = Assert.Throws<InvalidOperationException>(() => trainer.Train(data, Enumerable.Range(0, 40).ToArray(), GeneratorTestData.Norm));
        Assert.Contains("NaN", e.Message);
    }

    [Fact]
    public void CancellationIsHonoured()
    {
        var p = GeneratorTestData.Tiny();
        var data = GeneratorTestData.Images(40, 2);
        using var net = new Supernet(p);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        var trainer = new GeneratorTrainer(net, new GeneratorOptions { Epochs = 1, BatchSize = 20 }, CPU);
        Assert.ThrowsAny<OperationCanceledException>(() => trainer.Train(data, Enumerable.Range(0, 40).ToArray(), GeneratorTestData.Norm, cancellationToken: cts.Token));
    }
}
