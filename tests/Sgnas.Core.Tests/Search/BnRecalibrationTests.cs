using Sgnas.Search;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Search;

public class BnRecalibrationTests
{
    private static Dictionary<string, float[]> Snapshot(IEnumerable<(string, Tensor)> named) =>
        named.ToDictionary(kv => kv.Item1, kv => kv.Item2.detach().cpu().data<float>().ToArray());

    private static Dictionary<string, float[]> Buffers(Sgnas.Modules.Supernet net) =>
        Snapshot(net.named_buffers().Where(b => b.name.EndsWith("running_mean") || b.name.EndsWith("running_var")));

    [Fact]
    public void ChangesRunningStatisticsButNotWeightsAndRestoresMomentum()
    {
        using var net = SearchFixtures.Net();
        var arch = ArchitectureCodec.Parse("e3:3,5,7|e2:5,7", net.Preset);
        var bns = BnRecalibration.BatchNorms(net);
        bns[0].momentum = 0.3;
        var momenta = bns.Select(b => b.momentum).ToArray();
        var paramsBefore = Snapshot(net.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        var statsBefore = Buffers(net);
        using var x = randn(16, 1, 8, 8);

        BnRecalibration.Recalibrate(net, arch, new[] { x });

        var paramsAfter = Snapshot(net.named_parameters().Select(p => (p.name, (Tensor)p.parameter)));
        Assert.Equal(paramsBefore.Keys, paramsAfter.Keys);
        foreach (var k in paramsBefore.Keys) Assert.Equal(paramsBefore[k], paramsAfter[k]);
        var statsAfter = Buffers(net);
        int changed = statsBefore.Keys.Count(k => !statsBefore[k].SequenceEqual(statsAfter[k]));
        Assert.True(changed > 0, "no BN running statistic changed");
        Assert.Equal(momenta, bns.Select(b => b.momentum).ToArray());
        Assert.False(net.training);
    }

    [Fact]
    public void RunningStatisticsAreTheCumulativeAverageOverBatches()
    {
        using var net = SearchFixtures.Net();
        var arch = ArchitectureCodec.Parse("e4:3,3,5,7|e6:3,3,5,5,7,7", net.Preset);
        using var x = randn(16, 1, 8, 8);
        BnRecalibration.Recalibrate(net, arch, new[] { x });
        var once = Buffers(net);
        // The same batch twice averages to the same statistics in every BN, including the expand BN slice that the
        // unified block normalises functionally (an exponential update with momentum 0.1 would not).
        BnRecalibration.Recalibrate(net, arch, new[] { x, x });
        var twice = Buffers(net);
        foreach (var k in once.Keys)
            for (int i = 0; i < once[k].Length; i++)
                Assert.True(Math.Abs(once[k][i] - twice[k][i]) <= 1e-5 * (1 + Math.Abs(once[k][i])), $"{k}[{i}]: {once[k][i]} vs {twice[k][i]}");
        Assert.Contains(once.Keys, k => k.Contains("expand_bn") && once[k].Any(v => v != 0 && v != 1));

        // The first BN sees the same per-image inputs however the images are batched, so with equal batch sizes
        // its running mean is the mean over all images.
        using var a = x.narrow(0, 0, 8).clone();
        using var b = x.narrow(0, 8, 8).clone();
        BnRecalibration.Recalibrate(net, arch, new[] { a, b });
        var halves = Buffers(net);
        const string first = "stem.bn.running_mean";
        Assert.Contains(first, once.Keys);
        for (int i = 0; i < once[first].Length; i++) Assert.True(Math.Abs(once[first][i] - halves[first][i]) < 1e-5);
    }

    [Fact]
    public void StatisticsDependOnlyOnTheCandidateNotOnTheOneBefore()
    {
        using var net = SearchFixtures.Net();
        var a = ArchitectureCodec.Parse("e2:3,3|e5:3,5,5,7,7", net.Preset);
        var other = ArchitectureCodec.Parse("e6:7,7,7,7,7,7|e2:3,3", net.Preset);
        using var x = randn(16, 1, 8, 8);
        using var probe = randn(4, 1, 8, 8);
        BnRecalibration.Recalibrate(net, a, new[] { x });
        using var y1 = net.Forward(probe, a);
        BnRecalibration.Recalibrate(net, other, new[] { x });
        BnRecalibration.Recalibrate(net, a, new[] { x });
        using var y2 = net.Forward(probe, a);
        Assert.True(y1.allclose(y2, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void NoBatchesIsAnError()
    {
        using var net = SearchFixtures.Net();
        Assert.Throws<ArgumentException>(() => BnRecalibration.Recalibrate(net, Architecture.Smallest(net.Preset), Array.Empty<Tensor>()));
    }
}
