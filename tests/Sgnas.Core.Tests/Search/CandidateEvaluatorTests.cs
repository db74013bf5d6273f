using Sgnas.Search;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Search;

public class CandidateEvaluatorTests
{
    [Fact]
    public void ScoresMatchAManualPassAndAreCachedByCanonicalArchitecture()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        Assert.Equal(24, ev.Data.ValidationCount);
        Assert.Equal(32, ev.Data.RecalibrationCount);

        var unsorted = new Architecture(new[] { new LayerChoice(new[] { 7, 3, 5 }), new LayerChoice(new[] { 5, 3 }) });
        var r = ev.Evaluate(unsorted);
        Assert.Equal(unsorted.Canonical(), r.Architecture);
        Assert.InRange(r.ValTop1, 0, 1);
        Assert.True(r.ValLoss > 0);
        Assert.Equal(ev.Table.CostM(unsorted), r.FlopsM, 9);

        // The supernet now holds this candidate's statistics: a manual pass over the validation subset agrees.
        long correct = 0;
        using (no_grad())
            foreach (var (x, y) in ev.Data.ValidationBatches)
            {
                using var logits = net.Forward(x, r.Architecture);
                correct += logits.argmax(1).eq(y).sum().item<long>();
            }
        Assert.Equal((double)correct / 24, r.ValTop1, 12);

        var again = ev.Evaluate(unsorted.Canonical());
        Assert.Same(r, again);
        Assert.Equal(1, ev.Evaluations);
        Assert.Equal(2, ev.Requests);
        ev.ClearCache();
        var fresh = ev.Evaluate(unsorted);
        Assert.Equal(2, ev.Evaluations);
        Assert.Equal(r.ValTop1, fresh.ValTop1, 12);
    }

    [Fact]
    public void ArchitectureOfAnotherSpaceIsRejected()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net);
        Assert.Throws<ArgumentException>(() => ev.Evaluate(Architecture.Uniform(3, 2, 3)));
    }

    [Fact]
    public void SubsetsAreClampedToTheSplitAndZeroMeansAllValidation()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 1000, validation: 0);
        Assert.Equal(40, ev.Data.RecalibrationCount);
        Assert.Equal(24, ev.Data.ValidationCount);
    }
}
