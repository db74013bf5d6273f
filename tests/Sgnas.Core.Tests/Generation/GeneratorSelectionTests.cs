using Sgnas.Generation;

namespace Sgnas.Core.Tests.Generation;

/// <summary>Issue 9 part 2: the kept generator epoch is the best average top-1 among epochs that fit the constraint.</summary>
public class GeneratorSelectionTests
{
    private static GeneratorEpochMetrics E(int epoch, double mare, double top1, double lc) =>
        new() { Epoch = epoch, MeanAbsRelError = mare, MeanTop1 = top1, EvalConstraintLoss = lc };

    [Fact]
    public void AccuracyRuleKeepsTheMostAccurateEpochWithinTolerance()
    {
        var h = new[] { E(1, 0.20, 0.90, 5.0), E(2, 0.04, 0.70, 1.0), E(3, 0.05, 0.75, 2.0), E(4, 0.01, 0.72, 0.1) };
        // Epoch 1 is the most accurate but misses the FLOPs tolerance; epoch 4 fits best; epoch 3 wins.
        Assert.Equal(3, GeneratorSelection.Select(h, GeneratorSelectionRule.Accuracy, 0.05)!.Epoch);
        Assert.Equal(4, GeneratorSelection.Select(h, GeneratorSelectionRule.ConstraintFit, 0.05)!.Epoch);
        Assert.Equal(1, GeneratorSelection.Select(h, GeneratorSelectionRule.Accuracy, 0.5)!.Epoch);
    }

    [Fact]
    public void WithoutAnEpochWithinToleranceOrWithoutTop1TheBestFitIsKept()
    {
        var h = new[] { E(1, 0.20, 0.90, 5.0), E(2, 0.10, 0.70, 1.0) };
        Assert.Equal(2, GeneratorSelection.Select(h, GeneratorSelectionRule.Accuracy, 0.05)!.Epoch);
        var noTop1 = new[] { E(1, 0.01, double.NaN, 3.0), E(2, 0.01, double.NaN, 2.0) };
        Assert.Equal(2, GeneratorSelection.Select(noTop1, GeneratorSelectionRule.Accuracy, 0.05)!.Epoch);
        Assert.Null(GeneratorSelection.Select(Array.Empty<GeneratorEpochMetrics>(), GeneratorSelectionRule.Accuracy, 0.05));
    }

    [Fact]
    public void SelectedEpochIsAlwaysThePreviousSelectionOrTheNewEpoch()
    {
        // The trainer keeps one state dict and replaces it only when the newest epoch is selected; that is right only
        // if the selection over a growing history never jumps back to an older, unkept epoch.
        var r = new Random(3);
        for (int trial = 0; trial < 200; trial++)
        {
            var h = new List<GeneratorEpochMetrics>();
            int kept = 0;
            for (int e = 1; e <= 12; e++)
            {
                h.Add(E(e, r.NextDouble() * 0.1, Math.Round(r.NextDouble(), 1), Math.Round(r.NextDouble() * 3, 1)));
                int sel = GeneratorSelection.Select(h, GeneratorSelectionRule.Accuracy, 0.05)!.Epoch;
                Assert.True(sel == kept || sel == e, $"trial {trial}: selected {sel} after {e} epochs, kept {kept}");
                kept = sel;
            }
        }
    }
}
