using Sgnas.Cost;
using Sgnas.Search;
using Sgnas.SearchSpace;

namespace Sgnas.Core.Tests.Search;

public class TuningShrinkTests
{
    [Fact]
    public void ShrinkToFitReachesTargetsNearTheSmallestArchitecture()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var table = new FlopsLookupTable(p);
        var (min, _) = table.Range();
        var constraint = new FlopsConstraint(table, min + 0.1);
        var sampler = new ArchitectureSampler(p, 4);
        var rng = new Random(1);
        for (int i = 0; i < 20; i++)
        {
            var fitted = constraint.ShrinkToFit(Architecture.Largest(p), rng)!;
            Assert.True(constraint.IsSatisfiedBy(fitted));
            fitted.Validate(p);
            Assert.True(fitted.IsCanonicalEverywhere());
            var other = constraint.ShrinkToFit(sampler.Sample(), rng)!;
            Assert.True(constraint.IsSatisfiedBy(other));
        }
        Assert.Null(new FlopsConstraint(table, min - 0.01).ShrinkToFit(Architecture.Largest(p), rng));
    }

    [Fact]
    public void RandomSearchFindsCandidatesJustAboveTheMinimum()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var table = new FlopsLookupTable(p);
        var constraint = new FlopsConstraint(table, table.Range().Min + 0.15);
        var search = new RandomSearch(new ArchitectureSearchSpace(p), constraint, new RandomSearchOptions { Seed = 2 });
        for (int i = 0; i < 5; i++) Assert.True(constraint.IsSatisfiedBy(search.Propose()));
    }
}

internal static class ArchitectureTestExtensions
{
    public static bool IsCanonicalEverywhere(this Architecture a) => a.Layers.All(l => l.IsCanonical);
}
