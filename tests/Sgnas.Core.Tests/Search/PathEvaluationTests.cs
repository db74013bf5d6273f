using Sgnas.Search;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Search;

/// <summary>Scoring positional supernet paths (issue 9 part 1: the generator's pick is scored on the path it optimised).</summary>
public class PathEvaluationTests
{
    [Fact]
    public void CanonicalPrefixPathScoresAsItsArchitecture()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        var arch = ArchitectureCodec.Parse("e3:3,5,7|e2:5,7", net.Preset);
        var a = ev.Evaluate(arch);
        int before = ev.Evaluations;
        var b = ev.EvaluatePath(SupernetPath.FromArchitecture(net.Preset, arch));
        Assert.Equal(before, ev.Evaluations); // served from the cache: the same candidate
        Assert.Equal(a.ValTop1, b.ValTop1);
        Assert.Equal(a.ValLoss, b.ValLoss);
    }

    [Fact]
    public void MiddleSkipPathIsRecalibratedOnItselfAndScoredIndependentlyOfThePreviousCandidate()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        var path = SupernetPath.Parse("7,3,-,5,-,3|5,3,-,-,7,-", net.Preset);
        Assert.False(path.IsPrefix);
        var first = ev.EvaluatePath(path);
        ev.Evaluate(ArchitectureCodec.Parse("e6:7,7,7,7,7,7|e6:7,7,7,7,7,7", net.Preset));
        var again = ev.EvaluatePath(path);
        Assert.Equal(first.ValLoss, again.ValLoss, 6);
        Assert.Equal(path.ToArchitecture(), first.Architecture);
        // A different network from its compacted prefix path, which has the same architecture.
        var compact = ev.EvaluatePath(path.Compacted());
        Assert.Equal(first.Architecture, compact.Architecture);
        Assert.NotEqual(first.ValLoss, compact.ValLoss);

        // Recalibration on the path: the same batch twice gives the same statistics (cumulative average).
        using var x = randn(16, 1, 8, 8);
        using var probe = randn(4, 1, 8, 8);
        BnRecalibration.Recalibrate(net, path, new[] { x });
        using var y1 = net.ForwardPath(probe, path);
        BnRecalibration.Recalibrate(net, path, new[] { x, x });
        using var y2 = net.ForwardPath(probe, path);
        Assert.True(y1.allclose(y2, rtol: 1e-4, atol: 1e-5));
        Assert.False(net.training);
    }

    [Fact]
    public void GeneratorStrategyScoresTheGivenPath()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        var path = SupernetPath.Parse("7,3,-,5,-,-|5,3,3,-,-,-", net.Preset);
        var expected = ev.EvaluatePath(path);
        var g = new GeneratorSearchStrategy(t => t.Select(_ => path).ToArray(), ev);
        var r = g.Search(5.0);
        Assert.Equal(path, r.Path);
        Assert.Equal(expected.ValLoss, r.ValLoss, 6);
        Assert.Equal(path.ToArchitecture(), r.Architecture);
    }
}
