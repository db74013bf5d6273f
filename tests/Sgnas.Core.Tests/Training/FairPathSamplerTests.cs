using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Core.Tests.Training;

public class FairPathSamplerTests
{
    private static readonly SearchSpacePreset Preset = SearchSpacePreset.Load("fashion-small");

    [Fact]
    public void OneFairStepAssignsEveryKernelOfEverySubBlockExactlyOnce()
    {
        var s = new FairPathSampler(Preset, seed: 3);
        for (int step = 0; step < 20; step++)
        {
            var paths = s.NextStep();
            Assert.Equal(3, paths.Count);
            var a = s.LastAssignment!;
            for (int i = 0; i < Preset.LayerCount; i++)
                for (int j = 0; j < Preset.MaxExpansion; j++)
                {
                    var kernels = Enumerable.Range(0, 3).Select(p => a[p, i, j]).Order().ToArray();
                    Assert.Equal(new[] { 3, 5, 7 }, kernels);
                    for (int p = 0; p < 3; p++)
                    {
                        var layer = paths[p].Layers[i];
                        if (j < layer.Expansion) Assert.Equal(a[p, i, j], layer.Kernels[j]);
                    }
                }
            // Sub-blocks every path keeps active (at least the first e_min) see each kernel exactly once in the step.
            for (int i = 0; i < Preset.LayerCount; i++)
            {
                int minE = paths.Min(p => p.Layers[i].Expansion);
                for (int j = 0; j < minE; j++)
                    Assert.Equal(new[] { 3, 5, 7 }, paths.Select(p => p.Layers[i].Kernels[j]).Order().ToArray());
            }
            foreach (var p in paths) p.Validate(Preset);
        }
    }

    [Fact]
    public void ExpansionRatesCycleThroughAllValuesEveryFivePasses()
    {
        var s = new FairPathSampler(Preset, seed: 11);
        // 10 steps × 3 paths = 30 passes = 6 full cycles of the 5 rates per layer.
        var passes = Enumerable.Range(0, 10).SelectMany(_ => s.NextStep()).ToList();
        bool anyCycleOrderDiffers = false;
        for (int i = 0; i < Preset.LayerCount; i++)
        {
            var rates = passes.Select(p => p.Layers[i].Expansion).ToArray();
            for (int c = 0; c < 6; c++)
                Assert.Equal(new[] { 2, 3, 4, 5, 6 }, rates.Skip(5 * c).Take(5).Order().ToArray());
            anyCycleOrderDiffers |= !rates.Take(5).SequenceEqual(rates.Skip(5).Take(5));
        }
        Assert.True(anyCycleOrderDiffers, "cycles should be reshuffled");
    }

    [Fact]
    public void SameSeedSameStepsAndRestoreContinuesTheStream()
    {
        var a = new FairPathSampler(Preset, seed: 7);
        var b = new FairPathSampler(Preset, seed: 7);
        var c = new FairPathSampler(Preset, seed: 8);
        var sa = Enumerable.Range(0, 5).SelectMany(_ => a.NextStep()).ToList();
        var sb = Enumerable.Range(0, 5).SelectMany(_ => b.NextStep()).ToList();
        var sc = Enumerable.Range(0, 5).SelectMany(_ => c.NextStep()).ToList();
        Assert.Equal(sa, sb);
        Assert.NotEqual(sa, sc);

        Assert.Equal(new PathSamplerState(7, 5), a.State);
        var restored = FairPathSampler.Restore(Preset, a.State);
        for (int n = 0; n < 4; n++) Assert.Equal(a.NextStep(), restored.NextStep());
    }

    [Fact]
    public void FairNeedsOnePathPerKernelUniformTakesAnyCount()
    {
        var e = Assert.Throws<ArgumentException>(() => new FairPathSampler(Preset, 0, PathSampling.Fair, pathsPerStep: 2));
        Assert.Contains("paths per step must be at least 3", e.Message);

        var u = new FairPathSampler(Preset, 0, PathSampling.Uniform, pathsPerStep: 2);
        var seen = new HashSet<int>();
        for (int n = 0; n < 50; n++)
        {
            var paths = u.NextStep();
            Assert.Equal(2, paths.Count);
            foreach (var p in paths) { p.Validate(Preset); seen.UnionWith(p.Layers.Select(l => l.Expansion)); }
        }
        Assert.Equal(new[] { 2, 3, 4, 5, 6 }, seen.Order().ToArray());
        Assert.Equal(FairPathSampler.Restore(Preset, u.State, PathSampling.Uniform, 2).NextStep(), u.NextStep());
    }

    [Fact]
    public void CosineScheduleStartsAtBaseHalvesMidwayAndDecreases()
    {
        Assert.Equal(0.045, CosineSchedule.Rate(0.045, 0, 100), 12);
        Assert.Equal(0.0225, CosineSchedule.Rate(0.045, 50, 100), 12);
        double prev = double.MaxValue;
        for (int t = 0; t < 100; t++)
        {
            double r = CosineSchedule.Rate(0.045, t, 100);
            Assert.True(r < prev && r > 0);
            prev = r;
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => CosineSchedule.Rate(0.1, 100, 100));
    }

    [Fact]
    public void FairWithFourPathsUsesEveryKernelOfEverySubBlockOnceOrTwicePerStep()
    {
        // The reference's K = 4 over 3 kernels: every (layer, sub-block) gets each kernel once, one of them twice.
        var s = new FairPathSampler(Preset, 3, PathSampling.Fair, pathsPerStep: 4);
        var twice = new int[Preset.Kernels.Count];
        for (int n = 0; n < 60; n++)
        {
            Assert.Equal(4, s.NextStep().Count);
            var a = s.LastAssignment!;
            for (int i = 0; i < Preset.LayerCount; i++)
                for (int j = 0; j < Preset.MaxExpansion; j++)
                {
                    var counts = Preset.Kernels.Select(k => Enumerable.Range(0, 4).Count(p => a[p, i, j] == k)).ToArray();
                    Assert.All(counts, c => Assert.InRange(c, 1, 2));
                    Assert.Equal(4, counts.Sum());
                    twice[Array.IndexOf(counts, 2)]++;
                }
        }
        // The doubled kernel is not always the same one.
        Assert.All(twice, c => Assert.True(c > 0));
        var restored = FairPathSampler.Restore(Preset, s.State, PathSampling.Fair, 4);
        var fresh = new FairPathSampler(Preset, 3, PathSampling.Fair, pathsPerStep: 4);
        for (int n = 0; n < 60; n++) fresh.NextStep();
        Assert.Equal(fresh.NextStep(), restored.NextStep());
    }
}
