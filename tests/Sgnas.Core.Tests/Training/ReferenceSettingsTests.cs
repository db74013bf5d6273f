using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Training;

/// <summary>Issue 9 part 3: the paper's and reference code's settings as named options.</summary>
public class ReferenceSettingsTests
{
    private static double Std(Tensor t) => t.to_type(ScalarType.Float64).std().item<double>();

    [Fact]
    public void ReferenceInitDrawsConvsWithFanOutHeStdLinearWithPointZeroOneAndResetsBatchNorm()
    {
        torch.manual_seed(3);
        // c_in ≠ c_out, so a fan-in formula would give another std; a depthwise conv uses its channel count as c_out.
        var conv = nn.Conv2d(32, 256, 3);
        var dw = nn.Conv2d(192, 192, 5, groups: 192);
        var fc = nn.Linear(512, 400);
        var bn = nn.BatchNorm2d(64);
        var net = nn.Sequential(("conv", conv), ("dw", dw), ("fc", fc), ("bn", bn));
        using (no_grad()) { bn.weight!.uniform_(0, 1); bn.bias!.uniform_(0, 1); conv.bias?.fill_(1); }
        WeightInit.Apply(net, WeightInitKind.Reference);

        double convStd = Math.Sqrt(2.0 / (3 * 3 * 256)), dwStd = Math.Sqrt(2.0 / (5 * 5 * 192));
        Assert.InRange(Std(conv.weight!), convStd * 0.97, convStd * 1.03);
        Assert.InRange(Std(dw.weight!), dwStd * 0.95, dwStd * 1.05);
        Assert.InRange(Std(fc.weight!), 0.01 * 0.97, 0.01 * 1.03);
        Assert.True(fc.bias!.abs().max().item<float>() == 0);
        Assert.True(conv.bias!.abs().max().item<float>() == 0);
        Assert.True(bn.weight!.eq(1).all().item<bool>());
        Assert.True(bn.bias!.eq(0).all().item<bool>());
        Assert.InRange(Math.Abs(conv.weight!.mean().item<float>()), 0, 0.002);

        // Default leaves TorchSharp's init alone.
        var before = conv.weight!.clone();
        WeightInit.Apply(net, WeightInitKind.Default);
        Assert.True(before.equal(conv.weight!).all().item<bool>());
    }

    [Fact]
    public void EmaFollowsTheUpdateRuleByHandAndCopiesBuffers()
    {
        var lin = nn.Linear(2, 1, hasBias: false);
        var bn = nn.BatchNorm1d(1);
        var net = nn.Sequential(("lin", lin), ("bn", bn));
        using (no_grad()) lin.weight!.copy_(tensor(new float[,] { { 1f, 2f } }));
        using var ema = new WeightEma(net, decay: 0.5);
        using (no_grad()) { lin.weight!.copy_(tensor(new float[,] { { 3f, 6f } })); bn.running_mean!.fill_(7); }
        // First update: d = min(0.5, 1/10) = 0.1 → 0.1·w0 + 0.9·w1.
        Assert.Equal(0.1, ema.NextDecay, 12);
        ema.Update(net);
        using (no_grad()) lin.weight!.copy_(tensor(new float[,] { { 0f, 0f } }));
        // Second: d = min(0.5, 2/11).
        double d2 = 2.0 / 11;
        Assert.Equal(d2, ema.NextDecay, 12);
        ema.Update(net);
        var target = nn.Sequential(("lin", nn.Linear(2, 1, hasBias: false)), ("bn", nn.BatchNorm1d(1)));
        ema.CopyTo(target);
        var w = ((Linear)target.children().First()).weight!.data<float>().ToArray();
        double first0 = 0.1 * 1 + 0.9 * 3, first1 = 0.1 * 2 + 0.9 * 6;
        Assert.Equal(d2 * first0, w[0], 5);
        Assert.Equal(d2 * first1, w[1], 5);
        Assert.Equal(7f, ((BatchNorm1d)target.children().Last()).running_mean!.item<float>());
        Assert.Equal(2, ema.Updates);
        // After many updates the decay is the configured one.
        Assert.Equal(0.5, new WeightEma(net, 0.5, updates: 1000).NextDecay);
        Assert.Throws<ArgumentOutOfRangeException>(() => new WeightEma(net, 1.0));
    }

    [Fact]
    public void ReferenceSqueezeExciteUsesTheExpandedWidthAndTheFirstMBConv()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var arch = new ArchitectureSampler(p, 4).Sample();
        using var input = new ChildNetwork(p, arch, new ChildNetworkOptions(SqueezeExcite: true));
        using var reference = new ChildNetwork(p, arch, ChildNetworkOptions.Reference);
        var geo = p.Geometry();
        for (int i = 0; i < geo.Count; i++)
        {
            int c = geo[i].InChannels, e = arch.Layers[i].Expansion;
            Assert.Equal(Math.Max(1, c / 4), input.Blocks[i].SE!.Convs.Reduce.weight!.shape[0]);
            Assert.Equal(c * e / 4, reference.Blocks[i].SE!.Convs.Reduce.weight!.shape[0]);
        }
        Assert.Null(input.StemModule.SE);
        Assert.Equal(p.StemChannels / 4, reference.StemModule.SE!.Convs.Reduce.weight!.shape[0]);
        Assert.Equal(0.2, ChildNetworkOptions.Reference.Dropout);
        using var y = reference.call(randn(2, 1, 28, 28));
        Assert.Equal(new long[] { 2, 10 }, y.shape);
        // The counter sees the extra SE convs.
        Assert.True(FlopsCounter.Count(p, arch, ChildNetworkOptions.Reference).ParamsM > FlopsCounter.Count(p, arch, new ChildNetworkOptions(SqueezeExcite: true)).ParamsM);
    }

    [Fact]
    public void ReferenceRetrainRateIsPointZeroOneSixPer256Images()
    {
        Assert.Equal(0.008, (RetrainOptions.Reference with { BatchSize = 128 }).EffectiveLearningRate, 12);
        Assert.Equal(0.016, (RetrainOptions.Reference with { BatchSize = 256 }).EffectiveLearningRate, 12);
        Assert.Equal(0.008, new RetrainOptions { BatchSize = 128 }.EffectiveLearningRate, 12); // default: the reference's rate
        Assert.Equal(0.08, new RetrainOptions { BatchSize = 128, LearningRatePer256 = LearningRateSchedules.RmsPropPeakLearningRate }.EffectiveLearningRate, 12); // paper 0.16 per 256
        Assert.Equal(0.05, (RetrainOptions.Reference with { LearningRate = 0.05 }).EffectiveLearningRate, 12);
        Assert.Equal(0.9999, RetrainOptions.Reference.EmaDecay);
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetrainOptions { EmaDecay = 1.5 }.Validate());
    }

    [Fact]
    public void ReferenceSupernetRecipeAndConstraintLossValues()
    {
        var r = SupernetTrainerOptions.Reference;
        Assert.Equal((4, 0.1, 0.064, 4e-4, WeightInitKind.Reference), (r.PathsPerStep, r.LabelSmoothing, r.LearningRate, r.WeightDecay, r.Init));
        r.Validate();
        _ = new FairPathSampler(SearchSpacePreset.Load("fashion-small"), 0, r.Sampling, r.PathsPerStep);

        // On the imagenet preset's interval the paper's λ and margin hold, both as the literal values and as the defaults' scaling.
        var imagenet = new FlopsLookupTable(SearchSpacePreset.Load("imagenet")).ConstraintInterval();
        double width = imagenet.High - imagenet.Low;
        Assert.Equal(3e-4, GeneratorOptions.Paper.ResolveCostWeight(width));
        Assert.Equal(0.1, GeneratorOptions.Paper.ResolveMarginM(width));
        Assert.Equal(3e-4, new GeneratorOptions().ResolveCostWeight(GeneratorOptions.ReferenceIntervalWidthM), 12);
    }

    [Fact]
    public void SingleRandomPriorIsOneArchitectureForEveryTarget()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var pool = PriorPool.SingleRandom(p, 1.5, 5.0, seed: 2);
        Assert.Single(pool.Entries);
        Assert.Equal(new FlopsLookupTable(p).CostM(pool.Entries[0].Architecture), pool.Entries[0].FlopsM, 9);
        using var batch = pool.PriorBatch(new[] { 1.6, 4.9 });
        Assert.True(batch[0].equal(batch[1]).all().item<bool>());
        Assert.False(PriorPool.SingleRandom(p, 1.5, 5.0, seed: 3).Entries[0].Architecture.Equals(pool.Entries[0].Architecture));
        // It survives the generator's save format.
        var back = PriorPool.FromJson(pool.ToJson(), p);
        Assert.Equal(pool.Entries, back.Entries);
    }
}

/// <summary>Retraining with the weight EMA: the average is what is validated and kept as best.pt.</summary>
public class RetrainEmaTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-ema-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // count 8×8 gray images of 3 classes whose brightness grows with the class, so a few epochs learn something.
    private static Sgnas.Data.ImageDataset ThreeClassImages(int count, int seed)
    {
        var r = new Random(seed);
        var labels = Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        var pixels = labels.SelectMany(c => Enumerable.Range(0, 64).Select(_ => (byte)Math.Min(255, r.Next(100) + 60 * c))).ToArray();
        return new Sgnas.Data.ImageDataset(pixels, 1, 8, 8, labels, 3);
    }

    [Fact]
    public void BestCheckpointHoldsTheAveragedWeights()
    {
        var p = Sgnas.Core.Tests.Modules.SupernetTests.Tiny();
        var arch = ArchitectureCodec.Parse("e2:3,5|e3:3,5,7", p);
        var data = ThreeClassImages(48, seed: 1);
        var o = new RetrainOptions
        {
            Epochs = 1, BatchSize = 8, EvalBatchSize = 16, LearningRate = 0.05, WarmupEpochs = 0, ValidationFraction = 0.25, Seed = 2,
            EmaDecay = 0.9, Init = WeightInitKind.Reference,
        };
        var m = new ArchitectureRetrainer(p, arch, o).Run(data, null, _dir);
        Assert.Equal(1, m.BestEpoch);
        var folder = new RetrainFolder(_dir);
        using var best = new ChildNetwork(p, arch);
        using var ema = new ChildNetwork(p, arch);
        using var last = new ChildNetwork(p, arch);
        AtomicFile.LoadModule(folder.BestWeights, best);
        AtomicFile.LoadModule(Path.Combine(_dir, "ema.pt"), ema);
        AtomicFile.LoadModule(folder.LastWeights, last);
        var b = best.parameters().Select(t => t.data<float>().ToArray()).ToList();
        var e = ema.parameters().Select(t => t.data<float>().ToArray()).ToList();
        var l = last.parameters().Select(t => t.data<float>().ToArray()).ToList();
        for (int i = 0; i < b.Count; i++) Assert.Equal(e[i], b[i]);
        Assert.Contains(Enumerable.Range(0, b.Count), i => !b[i].SequenceEqual(l[i]));
    }

    [Fact]
    public void AveragedWeightsTravelInTheCheckpointOverSeveralEpochs()
    {
        // best.pt and ema.pt used to be written beside the checkpoint set: after an epoch whose average was better,
        // the next commit kept best.pt under the previous manifest's hash, and the folder refused to load.
        var p = Sgnas.Core.Tests.Modules.SupernetTests.Tiny();
        var arch = ArchitectureCodec.Parse("e2:3,5|e3:3,5,7", p);
        var data = ThreeClassImages(64, seed: 3);
        var o = new RetrainOptions
        {
            Epochs = 4, BatchSize = 8, EvalBatchSize = 16, LearningRate = 0.05, WarmupEpochs = 0, ValidationFraction = 0.25, Seed = 2,
            EmaDecay = 0.5,
        };
        var m = new ArchitectureRetrainer(p, arch, o).Run(data, data, _dir);
        Assert.True(m.BestEpoch > 1, $"the fixture needs a best epoch after the first (got {m.BestEpoch})");
        var folder = new RetrainFolder(_dir);
        folder.Set.Verify(); // every file the manifest names matches it
        var (net, state) = ArchitectureRetrainer.LoadNetwork(folder);
        using (net) Assert.Equal(4, state.Epoch);
        // A resumed finished run reads the same checkpoint (ema.pt included) and measures the same best weights.
        var again = new ArchitectureRetrainer(p, arch, o with { Resume = true }).Run(data, data, _dir);
        Assert.Equal(m.TestTop1, again.TestTop1);
        Assert.Equal(m.BestEpoch, again.BestEpoch);
    }
}
