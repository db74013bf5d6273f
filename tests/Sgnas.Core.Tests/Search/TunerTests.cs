using Sgnas.Cost;
using Sgnas.Search;
using Sgnas.SearchSpace;

namespace Sgnas.Core.Tests.Search;

public class TunerTests
{
    private static readonly SearchSpacePreset Preset = SearchSpacePreset.Load("fashion-small");
    private static readonly FlopsLookupTable Table = new(Preset);

    private static double Middle()
    {
        var (min, max) = Table.Range();
        return min + 0.35 * (max - min);
    }

    /// <summary>A synthetic score that prefers large kernels and high expansion in the later layers.</summary>
    private static double Score(Architecture a) =>
        a.Layers.Select((l, i) => (i + 1) * (l.Kernels.Sum() + 2.0 * l.Expansion)).Sum();

    [Fact]
    public void RandomSearchProposesDistinctArchitecturesUnderTheConstraint()
    {
        var c = new FlopsConstraint(Table, Middle());
        var tuner = new RandomSearch(new ArchitectureSearchSpace(Preset), c, new RandomSearchOptions { Seed = 4 });
        var seen = new HashSet<Architecture>();
        for (int i = 0; i < 200; i++)
        {
            var a = tuner.Propose();
            Assert.True(c.FlopsM(a) <= c.TargetFlopsM, $"{a}: {c.FlopsM(a)} M > {c.TargetFlopsM} M");
            Assert.True(a.Layers.All(l => l.IsCanonical));
            Assert.True(seen.Add(a));
            tuner.Update(a, Score(a));
        }
        Assert.Equal(seen.Max(Score), tuner.Best!.Value.Score);
    }

    [Fact]
    public void EvolutionNeverExceedsItsConstraintAndImprovesOnItsFirstGeneration()
    {
        var c = new FlopsConstraint(Table, Middle());
        var o = new EvolutionSearchOptions { Population = 20, Iterations = 6, TopK = 5, Seed = 7 };
        var tuner = new EvolutionSearch(Preset, c, o);
        double firstGenerationBest = double.MinValue;
        var seen = new HashSet<Architecture>();
        for (int t = 0; t < o.TotalEvaluations; t++)
        {
            var a = tuner.Propose();
            Assert.True(c.FlopsM(a) <= c.TargetFlopsM, $"{a}: {c.FlopsM(a)} M > {c.TargetFlopsM} M");
            a.Validate(Preset);
            Assert.True(seen.Add(a), $"{a} proposed twice");
            if (tuner.Generation == 0) firstGenerationBest = Math.Max(firstGenerationBest, Score(a));
            tuner.Update(a, Score(a));
        }
        Assert.Equal(o.Iterations - 1, tuner.Generation);
        Assert.Equal(5, tuner.TopK.Count);
        Assert.True(tuner.Best!.Value.Score > firstGenerationBest, $"best {tuner.Best.Value.Score} vs first generation {firstGenerationBest}");
        Assert.Equal(seen.Max(Score), tuner.Best.Value.Score);
    }

    [Fact]
    public void EvolutionIsReproducibleFromItsSeed()
    {
        var c = new FlopsConstraint(Table, Middle());
        List<Architecture> Run()
        {
            var tuner = new EvolutionSearch(Preset, c, new EvolutionSearchOptions { Population = 6, Iterations = 3, TopK = 2, Seed = 3 });
            var list = new List<Architecture>();
            for (int t = 0; t < 18; t++) { var a = tuner.Propose(); list.Add(a); tuner.Update(a, Score(a)); }
            return list;
        }
        Assert.Equal(Run(), Run());
    }

    [Fact]
    public void CrossoverAndMutationGiveValidCanonicalArchitectures()
    {
        var random = new Random(5);
        var sampler = new ArchitectureSampler(Preset, 9);
        for (int n = 0; n < 100; n++)
        {
            var a = sampler.Sample(canonical: false);
            var b = sampler.Sample(canonical: false);
            var child = EvolutionSearch.Cross(a, b, random);
            child.Validate(Preset);
            Assert.True(child.Layers.All(l => l.IsCanonical));
            for (int i = 0; i < child.Layers.Count; i++)
                Assert.True(child.Layers[i].Equals(a.Layers[i].Canonical()) || child.Layers[i].Equals(b.Layers[i].Canonical()), $"layer {i} from neither parent");

            var m = EvolutionSearch.Mutate(a, Preset, 0.5, random);
            m.Validate(Preset);
            Assert.True(m.Layers.All(l => l.IsCanonical));
        }
        var x = sampler.Sample();
        Assert.Equal(x, EvolutionSearch.Mutate(x, Preset, 1e-12, random));
        // probability 1 resamples every layer: over 100 tries some layer must differ
        Assert.Contains(Enumerable.Range(0, 100), _ => !EvolutionSearch.Mutate(x, Preset, 1, random).Equals(x));
    }

    [Fact]
    public void ImpossibleConstraintGivesAClearError()
    {
        var (min, max) = Table.Range();
        var c = new FlopsConstraint(Table, min * 0.9);
        var evo = new EvolutionSearch(Preset, c, new EvolutionSearchOptions { MaxTriesPerCandidate = 200 });
        var e = Assert.Throws<InfeasibleConstraintException>(() => evo.Propose());
        Assert.Contains($"no architecture under {min * 0.9:0.###} M found after 200 tries", e.Message);
        Assert.Contains($"feasible range is {min:0.###}..{max:0.###} M", e.Message);
        var rnd = new RandomSearch(new ArchitectureSearchSpace(Preset), c, new RandomSearchOptions { MaxTriesPerCandidate = 50 });
        Assert.Contains("after 50 tries", Assert.Throws<InfeasibleConstraintException>(() => rnd.Propose()).Message);
    }

    [Fact]
    public void EvolutionWaitsForItsGenerationToBeScored()
    {
        var c = new FlopsConstraint(Table, Middle());
        var tuner = new EvolutionSearch(Preset, c, new EvolutionSearchOptions { Population = 4, Iterations = 2, TopK = 2, Seed = 1 });
        for (int i = 0; i < 4; i++) tuner.Propose();
        Assert.Throws<InvalidOperationException>(() => tuner.Propose());
    }

    [Fact]
    public void OptionsOutOfRangeAreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvolutionSearchOptions { Population = 5, TopK = 6 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvolutionSearchOptions { MutationProbability = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new RandomSearchOptions { Evaluations = 0 }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new FlopsConstraint(Table, -1));
    }
}
