using Sgnas.Cost;
using Sgnas.Search;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Core.Tests.Search;

/// <summary>Issue 9 part 4: Kendall τ between supernet-inherited and stand-alone accuracy.</summary>
public class SupernetRankingTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-rank-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void SpreadArchitecturesCoverTheFlopsRangeInOrder()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var table = new FlopsLookupTable(p);
        var archs = SupernetRanking.SpreadArchitectures(p, 12, seed: 1);
        Assert.Equal(12, archs.Distinct().Count());
        var flops = archs.Select(a => table.CostM(a)).ToArray();
        Assert.Equal(flops.OrderBy(f => f), flops);
        var (min, max) = table.Range();
        // Even FLOPs spacing over the whole space: the i-th sits near the centre of the i-th of 12 equal buckets, so the
        // set spans most of the range instead of the middle a random sample piles up in.
        double w = (max - min) / 12;
        for (int i = 0; i < 12; i++)
            Assert.True(Math.Abs(flops[i] - (min + (i + 0.5) * w)) <= w / 4 + 1e-9, $"architecture {i}: {flops[i]:F3} M, bucket centre {min + (i + 0.5) * w:F3} M");
        Assert.True(flops[^1] - flops[0] > 0.8 * (max - min), $"{flops[0]:F3}..{flops[^1]:F3} of {min:F3}..{max:F3}");
        // Not uniform stacks: layers differ within most architectures.
        Assert.True(archs.Count(a => a.Layers.Distinct().Count() > 1) >= 10);
        Assert.Equal(archs, SupernetRanking.SpreadArchitectures(p, 12, seed: 1));
    }

    [Fact]
    public void KendallTauComparesSupernetWithStandaloneAndResumeSkipsMeasuredPoints()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        var archs = SupernetRanking.SpreadArchitectures(net.Preset, 6, seed: 2);
        var a0 = ArchitectureCodec.Parse("e2:3,3|e2:3,3", net.Preset);
        RankingPoint P(double sup, double alone, double flops) => new(a0, flops, sup, alone, 0);
        var same = SupernetRanking.Summarize(new[] { P(0.5, 0.7, 1), P(0.6, 0.8, 3), P(0.55, 0.75, 2), P(0.9, 0.95, 4) });
        Assert.Equal(1.0, same.KendallTau, 12);
        Assert.Equal(1.0, same.FlopsKendallTau, 12);
        var reverse = SupernetRanking.Summarize(new[] { P(0.5, 0.9, 1), P(0.6, 0.8, 2), P(0.7, 0.7, 3) });
        Assert.Equal(-1.0, reverse.KendallTau, 12);
        // One discordant pair out of 6: τ = (5 − 1) / 6.
        var one = SupernetRanking.Summarize(new[] { P(0.1, 0.1, 1), P(0.2, 0.3, 2), P(0.3, 0.2, 3), P(0.4, 0.4, 4) });
        Assert.Equal(4.0 / 6, one.KendallTau, 12);

        int calls = 0;
        var measured = new List<RankingPoint>();
        var first = SupernetRanking.Measure(ev, archs.Take(3).ToArray(), (a, _) => { calls++; return a.Layers.Sum(l => l.Expansion); }, onPoint: measured.Add);
        Assert.Equal(3, calls);
        var all = SupernetRanking.Measure(ev, archs, (a, _) => { calls++; return a.Layers.Sum(l => l.Expansion); },
            done: measured.ToDictionary(p => p.Architecture));
        Assert.Equal(6, calls);
        Assert.Equal(6, all.Points.Count);
        Assert.Equal(all.Points.Select(p => p.FlopsM).OrderBy(f => f), all.Points.Select(p => p.FlopsM));
        Assert.All(all.Points, p => Assert.Equal(ev.Evaluate(p.Architecture).ValTop1, p.SupernetTop1));
        Assert.All(all.Points, p => Assert.Equal(p.Architecture.Layers.Sum(l => l.Expansion), p.StandaloneTop1));
    }

    [Fact]
    public void StandaloneTrainingReadsAFinishedArchitectureBack()
    {
        var p = SearchFixtures.Tiny();
        var data = SearchFixtures.Images(48);
        var train = data.Subset(Enumerable.Range(0, 32).ToArray());
        var val = data.Subset(Enumerable.Range(32, 16).ToArray());
        var o = new RetrainOptions { Epochs = 1, BatchSize = 8, EvalBatchSize = 16, LearningRate = 0.05, WarmupEpochs = 0, ValidationFraction = 0 };
        var s = new StandaloneTraining(p, train, val, o, _dir);
        var arch = ArchitectureCodec.Parse("e2:3,5|e3:3,5,7", p);
        double a = s.Top1(arch);
        Assert.InRange(a, 0, 1);
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(s.FolderOf(arch), "last.pt"));
        Assert.Equal(a, s.Top1(arch));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(s.FolderOf(arch), "last.pt")));
        Assert.NotEqual(s.FolderOf(arch), s.FolderOf(ArchitectureCodec.Parse("e2:3,3|e3:3,5,7", p)));
    }
}
