using Sgnas.Core.Tests.Generation;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;

namespace Sgnas.Core.Tests.IO;

/// <summary>
/// Issue cases 1 and 2: a kill at every write boundary of every checkpoint of the three stages, then a resume. The
/// resumed run must give the uninterrupted run's weights bit for bit (and its metrics), or refuse with a message
/// naming what is missing; never another result.
/// </summary>
[Collection("single-threaded torch")]
public sealed class StageCrashTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sgnas-crash-" + Guid.NewGuid().ToString("N"));
    private readonly int _threads;

    public StageCrashTests()
    {
        _threads = torch.get_num_threads();
        torch.set_num_threads(1);
    }

    public void Dispose()
    {
        torch.set_num_threads(_threads);
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private string Dir(string name) => Path.Combine(_root, name);

    private static SearchSpacePreset Tiny() => new()
    {
        Name = "tiny", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
    };

    private static ImageDataset Data(int count, int seed)
    {
        var r = new Random(seed);
        var labels = new int[count];
        var pixels = new byte[count * 64];
        for (int i = 0; i < count; i++)
        {
            labels[i] = i % 3;
            for (int k = 0; k < 64; k++) pixels[i * 64 + k] = (byte)Math.Clamp(labels[i] * 80 + r.Next(60), 0, 255);
        }
        return new ImageDataset(pixels, 1, 8, 8, labels, 3, ["a", "b", "c"]);
    }

    private static void SameBytes(string expected, string actual) =>
        Assert.True(File.ReadAllBytes(expected).AsSpan().SequenceEqual(File.ReadAllBytes(actual)), $"{actual} differs from {expected}");

    [Fact]
    public void SupernetKilledAtAnyCheckpointWriteResumesToTheUninterruptedWeights()
    {
        var data = Data(48, 1);
        var options = new SupernetTrainerOptions { Epochs = 2, BatchSize = 16, LearningRate = 0.05, Seed = 5, ValidationFraction = 0.25, ValidationArchitectures = 1 };
        var reference = new RunFolder(Dir("reference"));
        SupernetTrainingResult? full = null;
        var steps = CrashSimulation.Steps(() => full = new SupernetTrainer(Tiny(), options).Train(data, reference));
        Assert.Equal(3 * 13, steps.Count); // epochs 0, 1, 2; three files each

        int resumed = 0, refused = 0;
        for (int n = 0; n < steps.Count; n++)
        {
            var run = new RunFolder(Dir($"s{n}"));
            CrashSimulation.CrashAt(n, () => new SupernetTrainer(Tiny(), options).Train(data, run));
            SupernetTrainingResult r;
            try { r = SupernetTrainer.Resume(run, data); }
            catch (FileNotFoundException e)
            {
                // Killed before the very first checkpoint was complete: nothing to resume, and the message says what is missing.
                Assert.True(n < 7, $"crash after '{steps[n]}' (#{n}) left no resumable checkpoint: {e.Message}");
                Assert.Contains("supernet.json", e.Message);
                refused++;
                continue;
            }
            resumed++;
            Assert.Equal(full!.History.Select(h => (h.TrainLoss, h.TrainTop1, h.ValidationLoss, h.ValidationTop1, h.LearningRate)),
                r.History.Select(h => (h.TrainLoss, h.TrainTop1, h.ValidationLoss, h.ValidationTop1, h.LearningRate)));
            SameBytes(reference.SupernetWeights, run.SupernetWeights);
            SameBytes(reference.SupernetOptimizer, run.SupernetOptimizer);
            Assert.Empty(CrashSimulation.Leftovers(run.Root));
        }
        Assert.Equal(7, refused);
        Assert.Equal(steps.Count - 7, resumed);
    }

    [Fact]
    public void RetrainingKilledAtAnyCheckpointWriteResumesToTheUninterruptedResult()
    {
        var p = Tiny();
        var arch = ArchitectureCodec.Parse("e2:3,5|e3:3,5,7", p);
        var train = Data(48, 1);
        var test = Data(24, 2);
        RetrainOptions Options(bool resume) => new()
        {
            Epochs = 3, BatchSize = 8, EvalBatchSize = 16, WarmupEpochs = 1, LearningRate = 0.02, Seed = 5, Resume = resume, ValidationFraction = 0.25,
        };
        string reference = Dir("reference");
        RetrainMetrics? full = null;
        var steps = CrashSimulation.Steps(() => full = new ArchitectureRetrainer(p, arch, Options(false)).Run(train, test, reference));
        Assert.True(steps.Count >= 3 * 13, $"{steps.Count} write steps");

        int fresh = 0;
        for (int n = 0; n < steps.Count; n++)
        {
            string dir = Dir($"r{n}");
            CrashSimulation.CrashAt(n, () => new ArchitectureRetrainer(p, arch, Options(false)).Run(train, test, dir));
            RetrainMetrics m;
            if (!new RetrainFolder(dir).HasCheckpoint)
            {
                // Killed during the first epoch's save: no checkpoint to resume; resume starts from scratch like a new run.
                fresh++;
            }
            m = new ArchitectureRetrainer(p, arch, Options(true)).Run(train, test, dir);
            Assert.Equal(full!.History.Select(h => (h.TrainLoss, h.TrainTop1, h.ValidationLoss, h.ValidationTop1)),
                m.History.Select(h => (h.TrainLoss, h.TrainTop1, h.ValidationLoss, h.ValidationTop1)));
            Assert.Equal((full.TestTop1, full.TestLoss, full.BestEpoch), (m.TestTop1, m.TestLoss, m.BestEpoch));
            foreach (var f in new[] { "last.pt", "best.pt", "last.optim.pt" })
                SameBytes(Path.Combine(reference, f), Path.Combine(dir, f));
            Assert.Empty(CrashSimulation.Leftovers(dir));
        }
        Assert.True(fresh > 0);
    }

    [Fact]
    public void GeneratorKilledAtAnyCheckpointWriteResumesToTheUninterruptedGenerator()
    {
        var preset = GeneratorTestData.Tiny();
        var data = GeneratorTestData.Images(96, 1);
        using var supernet = GeneratorTestData.TrainedSupernet(preset, data, steps: 4);
        var validation = Enumerable.Range(0, 64).ToArray();
        // Extra cost targets: the resume must also replay their draws (1 + 3 per step), or the target stream shifts.
        var options = new GeneratorOptions { Epochs = 2, BatchSize = 32, LearningRate = 1e-2, EvaluationTargets = 4, EvaluationBatches = 1, Seed = 5, PriorBuckets = 4, ExtraCostTargets = 3 };

        void TrainAndSave(RunFolder run, bool resume)
        {
            using var model = new GeneratorTrainer(supernet, options, torch.CPU)
                .Train(data, validation, GeneratorTestData.Norm, checkpoint: new GeneratorCheckpoint(run.GeneratorTrainingDir, resume));
            model.Save(run);
        }

        // Checkpointing does not change what is trained.
        using var plain = new GeneratorTrainer(supernet, options, torch.CPU).Train(data, validation, GeneratorTestData.Norm);
        var reference = new RunFolder(Dir("reference"));
        var steps = CrashSimulation.Steps(() => TrainAndSave(reference, resume: false));
        // Two epoch checkpoints (13 steps, or 16 when best.pt is rewritten) and the final two-file save (10 steps).
        Assert.InRange(steps.Count, 16 + 13 + 10, 2 * 16 + 10);
        using (var back = ArchitectureGeneratorModel.Load(reference, torch.CPU, preset))
        {
            Assert.Equal(plain.History.Select(h => h.Loss), back.History.Select(h => h.Loss));
            var a = plain.Generator.state_dict();
            foreach (var (k, v) in back.Generator.state_dict()) Assert.True(v.equal(a[k]).all().item<bool>(), $"{k} differs with checkpointing");
        }

        for (int n = 0; n < steps.Count; n++)
        {
            var run = new RunFolder(Dir($"g{n}"));
            CrashSimulation.CrashAt(n, () => TrainAndSave(run, resume: false));
            TrainAndSave(run, resume: true);
            SameBytes(reference.GeneratorWeights, run.GeneratorWeights);
            using var back = ArchitectureGeneratorModel.Load(run, torch.CPU, preset);
            Assert.Equal(plain.History.Select(h => (h.Loss, h.KendallTau, h.EvalConstraintLoss)), back.History.Select(h => (h.Loss, h.KendallTau, h.EvalConstraintLoss)));
            Assert.Empty(CrashSimulation.Leftovers(run.Root));
        }
    }
}
