using Sgnas.Data;
using Sgnas.IO;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;

namespace Sgnas.Core.Tests.Training;

public sealed class SupernetTrainerTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sgnas-train-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static SearchSpacePreset Tiny() => new()
    {
        Name = "tiny", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
    };

    /// <summary>Images whose brightness depends on the class, so there is something to learn.</summary>
    private static ImageDataset Data(int count = 80, int seed = 1)
    {
        var r = new Random(seed);
        var labels = new int[count];
        var pixels = new byte[count * 64];
        for (int i = 0; i < count; i++)
        {
            labels[i] = i % 3;
            for (int k = 0; k < 64; k++) pixels[i * 64 + k] = (byte)Math.Clamp(labels[i] * 80 + r.Next(60), 0, 255);
        }
        return new ImageDataset(pixels, 1, 8, 8, labels, 3);
    }

    private static SupernetTrainerOptions Options(int epochs = 2) => new()
    {
        Epochs = epochs, BatchSize = 16, LearningRate = 0.05, Seed = 5, ValidationFraction = 0.2, ValidationArchitectures = 2,
    };

    private RunFolder Run(string name) => new(Path.Combine(_root, name));

    private sealed class SyncProgress(Action<TrainingProgress> report) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => report(value);
    }

    [Fact]
    public void ResumingAfterACancelledFirstEpochGivesTheSameWeightsAsOneRun()
    {
        torch.set_num_threads(1);
        var data = Data();
        var full = Run("full");
        var reports = new List<TrainingProgress>();
        var a = new SupernetTrainer(Tiny(), Options()).Train(data, full, new SyncProgress(reports.Add));
        Assert.Equal(2, a.EpochsCompleted);
        Assert.Equal(2, a.History.Count);
        Assert.Equal(2, reports.Count(p => p.EpochDone));
        Assert.All(a.History, h => Assert.InRange(h.ValidationTop1, 0, 1));

        // Cancel right after epoch 1 is checkpointed.
        var split = Run("split");
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.EpochDone && p.Epoch == 1) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => new SupernetTrainer(Tiny(), Options()).Train(data, split, progress, cts.Token));

        // The cancelled run left a loadable epoch-1 checkpoint.
        var (net1, info1) = SupernetCheckpoint.Load(split, torch.CPU);
        net1.Dispose();
        Assert.Equal(1, info1.Epoch);
        Assert.Equal(2, info1.Epochs);
        Assert.True(File.Exists(split.SupernetOptimizer));

        var b = SupernetTrainer.Resume(split, data);
        Assert.Equal(2, b.EpochsCompleted);
        Assert.Equal(a.History.Select(h => (h.TrainLoss, h.ValidationLoss)), b.History.Select(h => (h.TrainLoss, h.ValidationLoss)));

        var (na, _) = SupernetCheckpoint.Load(full, torch.CPU);
        var (nb, _) = SupernetCheckpoint.Load(split, torch.CPU);
        using (na)
        using (nb)
        {
            var sa = na.state_dict();
            var sb = nb.state_dict();
            Assert.Equal(sa.Keys, sb.Keys);
            foreach (var k in sa.Keys)
                Assert.True(sa[k].equal(sb[k]).all().item<bool>(), $"tensor {k} differs after resume");
            // Training changed the weights at all (the comparison is not between two untouched initialisations).
            torch.manual_seed(Options().Seed);
            using var fresh = new Sgnas.Modules.Supernet(Tiny());
            Assert.Contains(fresh.state_dict(), kv => kv.Value.is_floating_point() && !kv.Value.equal(sa[kv.Key]).all().item<bool>());
        }

        // Resuming a finished run has nothing to do.
        var again = SupernetTrainer.Resume(full, data);
        Assert.Equal(2, again.EpochsCompleted);
    }

    [Fact]
    public void CancellingBeforeTheFirstEpochLeavesAnEpochZeroCheckpoint()
    {
        var run = Run("early");
        using var cts = new CancellationTokenSource();
        var progress = new SyncProgress(p => { if (p.Step == 1) cts.Cancel(); });
        Assert.ThrowsAny<OperationCanceledException>(() => new SupernetTrainer(Tiny(), Options(1)).Train(Data(), run, progress, cts.Token));
        var (net, info) = SupernetCheckpoint.Load(run, torch.CPU);
        net.Dispose();
        Assert.Equal(0, info.Epoch);
        Assert.Equal(1, SupernetTrainer.Resume(run, Data()).EpochsCompleted);
    }

    [Fact]
    public void CorruptOrMismatchedCheckpointsGiveClearErrors()
    {
        var run = Run("corrupt");
        new SupernetTrainer(Tiny(), Options(1)).Train(Data(), run);

        // Training into a folder that already holds a checkpoint is refused.
        var exists = Assert.Throws<InvalidOperationException>(() => new SupernetTrainer(Tiny(), Options(1)).Train(Data(), run));
        Assert.Contains("already holds a supernet checkpoint", exists.Message);

        // A hand-edited metadata file no longer matches the checkpoint's manifest.
        File.WriteAllText(run.SupernetMeta, File.ReadAllText(run.SupernetMeta) + " ");
        var edited = Assert.Throws<InvalidDataException>(() => SupernetTrainer.Resume(run, Data()));
        Assert.Contains("supernet.json does not match", edited.Message);
        Assert.Contains("supernet.manifest.json", edited.Message);

        // Without the manifest (a folder written before manifests existed) the metadata's own checks apply.
        File.Delete(SupernetCheckpoint.Set(run).ManifestPath);

        // Other data than the checkpoint was trained on.
        var other = Assert.Throws<InvalidOperationException>(() =>
        {
            File.Copy(run.SupernetMeta, run.SupernetMeta + ".bak");
            var text = File.ReadAllText(run.SupernetMeta).Replace("\"epoch\": 1", "\"epoch\": 0");
            text = System.Text.RegularExpressions.Regex.Replace(text, "\"history\": \\[[^\\]]*\\]", "\"history\": []");
            File.WriteAllText(run.SupernetMeta, text);
            SupernetTrainer.Resume(run, Data(seed: 2));
        });
        Assert.Contains("differ from the data", other.Message);
        File.Move(run.SupernetMeta + ".bak", run.SupernetMeta, overwrite: true);

        // Weights modified after the metadata was written.
        var bytes = File.ReadAllBytes(run.SupernetWeights);
        bytes[^5] ^= 0x55;
        File.WriteAllBytes(run.SupernetWeights, bytes);
        var w = Assert.Throws<InvalidDataException>(() => SupernetCheckpoint.Load(run, torch.CPU));
        Assert.Contains("supernet.pt does not match", w.Message);

        // Truncated weights without a recorded hash: the loader names the file.
        File.WriteAllBytes(run.SupernetWeights, bytes[..(bytes.Length / 2)]);
        File.WriteAllText(run.SupernetMeta, System.Text.RegularExpressions.Regex.Replace(
            File.ReadAllText(run.SupernetMeta), "\"weightsSha256\": \"[0-9a-f]+\"", "\"weightsSha256\": null"));
        var t = Assert.Throws<InvalidDataException>(() => SupernetCheckpoint.Load(run, torch.CPU));
        Assert.Contains("not a readable weights file", t.Message);

        // Corrupt metadata.
        File.WriteAllText(run.SupernetMeta, "{ \"formatVersion\": 1, \"preset\": ");
        var m = Assert.Throws<InvalidDataException>(() => SupernetTrainer.Resume(run, Data()));
        Assert.Contains("corrupt supernet metadata", m.Message);
        Assert.Contains(run.SupernetMeta, m.Message);
    }

    [Fact]
    public void NonFiniteLossStopsWithEpochAndStepAndKeepsTheLastCheckpoint()
    {
        var run = Run("nan");
        var o = Options(1) with { LearningRate = 1e30 };
        var e = Assert.Throws<TrainingDivergedException>(() => new SupernetTrainer(Tiny(), o).Train(Data(), run));
        Assert.Equal(1, e.Epoch);
        Assert.True(e.Step >= 2, $"step {e.Step}");
        Assert.Contains("epoch 1, step", e.Message);
        var (net, info) = SupernetCheckpoint.Load(run, torch.CPU);
        net.Dispose();
        Assert.Equal(0, info.Epoch);
    }

    [Fact]
    public void DataThatDoNotFitThePresetAreRejected()
    {
        var rgb = new ImageDataset(new byte[4 * 3 * 64], 3, 8, 8, new int[4], 3);
        var e = Assert.Throws<ArgumentException>(() => new SupernetTrainer(Tiny(), Options(1)).Train(rgb, Run("rgb")));
        Assert.Contains("3×8×8", e.Message);
        var classes = new ImageDataset(new byte[4 * 64], 1, 8, 8, new int[4], 10);
        Assert.Contains("10 classes", Assert.Throws<ArgumentException>(() => new SupernetTrainer(Tiny(), Options(1)).Train(classes, Run("c"))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new SupernetTrainer(Tiny(), Options(1) with { LabelSmoothing = 1.5 }));
    }
}
