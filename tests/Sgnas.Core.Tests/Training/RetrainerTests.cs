using System.Text.Json;
using Sgnas.Data;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Training;

/// <summary>End-to-end retraining on a tiny preset and synthetic images.</summary>
public class RetrainerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-retrain-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    private static SearchSpacePreset Tiny(float std = 0.5f) => new()
    {
        Name = "tiny", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
        Std = new[] { std },
    };

    private static readonly string TinyArch = "e2:3,5|e3:3,5,7";

    /// <summary>Class c is a bright square in quadrant c on noise, so the classes are learnable.</summary>
    private static ImageDataset Synthetic(int count, int seed)
    {
        var r = new Random(seed);
        var pixels = new byte[count * 64];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            int c = i % 3;
            labels[i] = c;
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    bool on = (y < 4) == (c != 2) && (x < 4) == (c == 0);
                    pixels[i * 64 + y * 8 + x] = (byte)(on ? 200 + r.Next(55) : r.Next(60));
                }
        }
        return new ImageDataset(pixels, 1, 8, 8, labels, 3, new[] { "a", "b", "c" });
    }

    private static RetrainOptions Options(int epochs, bool resume = false) => new()
    {
        Epochs = epochs, BatchSize = 8, EvalBatchSize = 16, WarmupEpochs = 1, LearningRate = 0.02, Seed = 5, Resume = resume,
        ValidationFraction = 0.25,
    };

    private sealed class Sync(Action<TrainingProgress> on) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value) => on(value);
    }

    private static Dictionary<string, Tensor> Weights(string path, SearchSpacePreset p, ChildNetworkOptions o)
    {
        // Clone: the state dict's tensors belong to the module, which the garbage collector may free once it is
        // unreachable, leaving empty handles.
        using var net = new ChildNetwork(p, ArchitectureCodec.Parse(TinyArch, p), o);
        AtomicFile.LoadModule(path, net);
        return net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
    }

    [Fact]
    public void InterruptedAndResumedRunEqualsUninterruptedRun()
    {
        int threads = torch.get_num_threads();
        torch.set_num_threads(1);
        try
        {
            var p = Tiny();
            var arch = ArchitectureCodec.Parse(TinyArch, p);
            var train = Synthetic(48, 1);
            string a = Path.Combine(_dir, "a"), b = Path.Combine(_dir, "b");
            new ArchitectureRetrainer(p, arch, Options(2)).Run(train, null, a);

            // Same plan, cancelled right after epoch 1's checkpoint, then resumed.
            using var cts = new CancellationTokenSource();
            var progress = new Sync(x => { if (x.EpochDone && x.Epoch == 1) cts.Cancel(); });
            Assert.ThrowsAny<OperationCanceledException>(() => new ArchitectureRetrainer(p, arch, Options(2)).Run(train, null, b, progress, cts.Token));
            Assert.Equal(1, ArchitectureRetrainer.ReadState(new RetrainFolder(b)).Epoch);
            var resumedEpochs = new List<int>();
            new ArchitectureRetrainer(p, arch, Options(2, resume: true)).Run(train, null, b,
                new Sync(x => { if (x.EpochDone) resumedEpochs.Add(x.Epoch); }));
            Assert.Equal(new[] { 2 }, resumedEpochs);

            var wa = Weights(Path.Combine(a, "last.pt"), p, new ChildNetworkOptions());
            var wb = Weights(Path.Combine(b, "last.pt"), p, new ChildNetworkOptions());
            Assert.Equal(wa.Keys, wb.Keys);
            foreach (var k in wa.Keys)
                Assert.True(wa[k].to_type(ScalarType.Float64).allclose(wb[k].to_type(ScalarType.Float64), rtol: 1e-4, atol: 1e-5), $"{k} differs after resume");
            var sa = ArchitectureRetrainer.ReadState(new RetrainFolder(a));
            var sb = ArchitectureRetrainer.ReadState(new RetrainFolder(b));
            Assert.Equal(sa.History.Select(h => h.TrainLoss), sb.History.Select(h => h.TrainLoss), new Close());
            Assert.Equal(2, sb.History.Count);
        }
        finally
        {
            torch.set_num_threads(threads);
        }
    }

    private sealed class Close : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= 1e-4 * Math.Max(1, Math.Abs(x));
        public int GetHashCode(double obj) => 0;
    }

    [Fact]
    public void WritesCheckpointsAndMetricsWithTestConfusionMatrix()
    {
        var p = Tiny();
        var arch = ArchitectureCodec.Parse(TinyArch, p);
        // No augmentation here: a horizontal flip would swap the left and right quadrants that tell classes a and b apart.
        var o = Options(3) with
        {
            Network = new ChildNetworkOptions(SqueezeExcite: true, Activation: ActivationKind.HSwish), LearningRate = 0.05,
            Augmentation = RetrainAugmentation.None,
        };
        var reports = new List<TrainingProgress>();
        var m = new ArchitectureRetrainer(p, arch, o).Run(Synthetic(60, 2), Synthetic(30, 3), _dir, new Sync(reports.Add));

        var f = new RetrainFolder(_dir);
        foreach (var file in new[] { f.LastWeights, f.LastOptimizer, f.BestWeights, f.State, f.Metrics }) Assert.True(File.Exists(file), file);
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp"));
        Assert.Equal(3, reports.Count(r => r.EpochDone));
        Assert.All(reports.Where(r => !r.EpochDone), r => Assert.Equal("retrain", r.Stage));

        Assert.Equal(30, m.TestImages);
        Assert.Equal(30, m.ConfusionMatrix!.Sum(r => r.Sum()));
        Assert.Equal(3, m.ConfusionMatrix!.Length);
        Assert.Equal(ClassificationMetrics.Accuracy(m.ConfusionMatrix), m.TestTop1!.Value, 9);
        Assert.Equal(1.0, m.TestTop5!.Value); // 3 classes: top-5 caps at top-3
        Assert.Equal(3, m.Epochs);
        Assert.Equal(3, m.History.Count);
        Assert.InRange(m.BestEpoch, 1, 3);
        Assert.Equal(m.History.Max(h => h.ValidationTop1), m.BestValidationTop1);
        Assert.True(m.FlopsM > 0 && m.ParamsM > 0 && m.ImagesPerSecondTrain > 0 && m.Seconds > 0);
        // the learning rate rose during the 1-epoch warm-up, then stayed at the peak (no decay before epoch 4)
        Assert.Equal(0.05, m.History[0].LearningRate, 9);
        Assert.Equal(0.05, m.History[2].LearningRate, 9);

        // metrics.json holds the fields a reader looks for
        using var doc = JsonDocument.Parse(File.ReadAllText(f.Metrics));
        foreach (var key in new[] { "testTop1", "testTop5", "flopsM", "paramsM", "epochs", "seconds", "imagesPerSecondTrain", "confusionMatrix", "history" })
            Assert.True(doc.RootElement.TryGetProperty(key, out _), key);
        Assert.Equal("HSwish", doc.RootElement.GetProperty("options").GetProperty("network").GetProperty("activation").GetString());

        // best.pt rebuilds from state.json alone and scores the reported test accuracy
        var (net, state) = ArchitectureRetrainer.LoadNetwork(f);
        using (net)
        {
            Assert.True(net.Options.SqueezeExcite);
            var test = Synthetic(30, 3);
            var again = new ArchitectureRetrainer(p, arch, o).Evaluate(net, test, Enumerable.Range(0, 30).ToArray(),
                new ChannelNormalization(state.NormalizationMean, state.NormalizationStd));
            Assert.Equal(m.TestTop1.Value, again.Top1, 9);
            Assert.False(net.training);
        }

        // a second run into the same folder without Resume refuses to overwrite it
        var e = Assert.Throws<InvalidOperationException>(() => new ArchitectureRetrainer(p, arch, o).Run(Synthetic(60, 2), null, _dir));
        Assert.Contains("Resume", e.Message);
        // resuming with another architecture is refused
        var other = ArchitectureCodec.Parse("e2:3,3|e2:3,3", p);
        Assert.Throws<InvalidOperationException>(() => new ArchitectureRetrainer(p, other, o with { Resume = true }).Run(Synthetic(60, 2), null, _dir));
        // resuming with another seed would change the validation split
        e = Assert.Throws<InvalidOperationException>(() => new ArchitectureRetrainer(p, arch, o with { Resume = true, Seed = 6 }).Run(Synthetic(60, 2), null, _dir));
        Assert.Contains("seed", e.Message);
        // resuming a finished run with more epochs continues at the next epoch
        var more = new ArchitectureRetrainer(p, arch, o with { Resume = true, Epochs = 4 }).Run(Synthetic(60, 2), Synthetic(30, 3), _dir);
        Assert.Equal(4, more.Epochs);
        Assert.Equal(new[] { 1, 2, 3, 4 }, more.History.Select(h => h.Epoch));
    }

    [Fact]
    public void LearnsSeparableClassesAndTheEvalModeModelScoresThem()
    {
        var p = Tiny();
        var arch = ArchitectureCodec.Parse(TinyArch, p);
        // No augmentation: a horizontal flip would swap the left and right quadrants that tell classes a and b apart.
        var o = Options(4) with { BatchSize = 16, LearningRate = 0.05, WarmupEpochs = 0.5, Augmentation = RetrainAugmentation.None, ValidationFraction = 0.1 };
        var m = new ArchitectureRetrainer(p, arch, o).Run(Synthetic(160, 6), Synthetic(60, 7), _dir);
        Assert.True(m.TestTop1 > 0.6, $"test top-1 {m.TestTop1} on separable synthetic classes (chance 0.33); history {string.Join("; ", m.History)}");
    }

    [Fact]
    public void NonFiniteLossStopsWithAClearError()
    {
        // A denormal std scales every bright pixel to infinity; BN then produces NaN.
        var p = Tiny(std: 1e-45f);
        var arch = ArchitectureCodec.Parse(TinyArch, p);
        var e = Assert.Throws<TrainingDivergedException>(() => new ArchitectureRetrainer(p, arch, Options(1)).Run(Synthetic(24, 4), null, _dir));
        Assert.Equal(1, e.Epoch);
        Assert.Equal(1, e.Step);
        Assert.Contains("diverged", e.Message);
        Assert.False(File.Exists(new RetrainFolder(_dir).State));
    }

    [Fact]
    public void DataOfAnotherShapeOrClassCountIsRejected()
    {
        var p = Tiny();
        var arch = ArchitectureCodec.Parse(TinyArch, p);
        var rgb = new ImageDataset(new byte[4 * 3 * 8 * 8], 3, 8, 8, new[] { 0, 1, 2, 0 }, 3);
        var e = Assert.Throws<ArgumentException>(() => new ArchitectureRetrainer(p, arch, Options(1)).Run(rgb, null, _dir));
        Assert.Contains("3×8×8", e.Message);
        Assert.Contains("1×8×8", e.Message);
        var fiveClasses = new ImageDataset(new byte[4 * 64], 1, 8, 8, new[] { 0, 1, 2, 4 }, 5);
        e = Assert.Throws<ArgumentException>(() => new ArchitectureRetrainer(p, arch, Options(1)).Run(Synthetic(12, 1), fiveClasses, _dir));
        Assert.Contains("5 classes", e.Message);
        Assert.Contains("test data", e.Message);
    }
}
