using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Generation;

/// <summary>The inverse of the generator's response curve (docs/generator.md section 6).</summary>
public sealed class ConstraintCalibrationTests
{
    [Fact]
    public void InputForTakesTheHighestLevelAtOrBelowTheBudgetAndTheNearestInputAmongItsTies()
    {
        // Worked by hand: inputs 1..5 gave costs 1.1, 0.9, 2.5, 2.5, 4.2 (a dip at 2, a plateau over 3 and 4).
        var cal = ConstraintCalibration.FromGrid(new double[] { 1, 2, 3, 4, 5 }, new[] { 1.1, 0.9, 2.5, 2.5, 4.2 });
        Assert.Equal(4, cal.Levels);
        Assert.Equal((0.9, 4.2), cal.CostRange);
        Assert.Equal(2, cal.InputFor(1.0));   // 0.9 ≤ 1.0 < 1.1
        Assert.Equal(1, cal.InputFor(1.1));   // a level equal to the budget fits
        Assert.Equal(1, cal.InputFor(2.4));   // 1.1 is the highest level ≤ 2.4
        Assert.Equal(3, cal.InputFor(3.0));   // level 2.5: inputs 3 and 4, 3 is nearer
        Assert.Equal(4, cal.InputFor(3.9));   // same level, 4 is nearer
        Assert.Equal(5, cal.InputFor(10));
        Assert.Equal(2, cal.InputFor(0.5));   // no level fits: the lowest one (the hard limit may repair it)
        Assert.Throws<ArgumentException>(() => ConstraintCalibration.FromGrid(new double[] { 1, 2 }, new[] { 1.0 }));
        Assert.Throws<ArgumentException>(() => ConstraintCalibration.FromGrid(new double[] { 1 }, new[] { double.NaN }));
    }

    [Fact]
    public void GridExtendsPastTheIntervalWithinTheFeasibleRange()
    {
        var g = ConstraintCalibration.Grid(2, 4, (1.9, 10), points: 5, extension: 0.1);
        Assert.Equal(new[] { 1.9, 2.475, 3.05, 3.625, 4.2 }, g.Select(x => Math.Round(x, 9)));
        Assert.Throws<ArgumentException>(() => ConstraintCalibration.Grid(4, 4, (0, 10)));
    }

    private static (SearchSpacePreset Preset, double Low, double High) FashionSmall()
    {
        var preset = SearchSpacePreset.Load("fashion-small");
        var (low, high) = new FlopsLookupTable(preset).ConstraintInterval();
        return (preset, low, high);
    }

    // A narrow (8-channel) untrained generator over fashion-small's interval: quick to build and to run.
    private static ArchitectureGeneratorModel UntrainedGenerator(SearchSpacePreset preset, double low, double high, int seed) =>
        new(preset, ArchitectureGenerator.For(preset, hiddenChannels: 8, seed: seed), PriorPool.Build(preset, low, high, 10, seed),
            low, high, new GeneratorOptions(), 5.0, null, CPU);

    [Fact]
    public void CalibratedGenerationFollowsTheBudgetFromBelowWithTheGeneratorsOwnArchitectures()
    {
        var (preset, low, high) = FashionSmall();
        using var model = UntrainedGenerator(preset, low, high, seed: 3);
        var cal = model.Calibration;
        Assert.Equal(ConstraintCalibration.DefaultPoints, cal.Points);
        var grid = ConstraintCalibration.Grid(low, high, model.FeasibleRange);
        var levels = model.Generate(grid, calibrated: false).Select(g => g.Cost).ToArray();
        var targets = ArchitectureGeneratorModel.EvenTargets(low, high, 300);
        var generated = model.Generate(targets);
        for (int i = 0; i < targets.Length; i++)
        {
            var g = generated[i];
            Assert.Equal(targets[i], g.Target);
            // The delivered architecture is the generator's own output at the calibrated input.
            var rawAtInput = model.Generate(new[] { g.Input }, calibrated: false)[0];
            Assert.Equal(rawAtInput.Path, g.Path);
            // Its cost is the highest grid level within the budget, or the lowest level when none fits.
            var fitting = levels.Where(c => c <= targets[i]).ToArray();
            Assert.Equal(fitting.Length > 0 ? fitting.Max() : levels.Min(), g.Cost);
            if (i > 0) Assert.True(g.Cost >= generated[i - 1].Cost, $"cost fell from {generated[i - 1].Cost} to {g.Cost} between budgets {targets[i - 1]} and {targets[i]}");
        }
        // Saved with the weights and read back: a fresh process generates with the stored calibration, which is the
        // one the loaded weights give.
        var dir = Directory.CreateTempSubdirectory("sgnas-cal-").FullName;
        try
        {
            model.Save(new RunFolder(dir));
            using var loaded = ArchitectureGeneratorModel.Load(new RunFolder(dir), CPU, preset);
            Assert.Equal(cal.GridCosts, loaded.Calibration.GridCosts);
            Assert.Equal(loaded.MeasureCalibration().GridCosts, loaded.Calibration.GridCosts);
            Assert.Equal(generated.Select(g => g.Path), loaded.Generate(targets).Select(g => g.Path));
        }
        finally { Directory.Delete(dir, recursive: true); }
        // The raw generation is what training measures: it must still be reachable and differ from the calibrated one here.
        Assert.NotEqual(model.Generate(targets, calibrated: false).Select(g => g.Cost), generated.Select(g => g.Cost));
    }

    [Fact]
    public void MemoisedAnswersEqualAColdCalibrationsAndTheHardLimitStillRepairsBelowTheLowestLevel()
    {
        var (preset, low, high) = FashionSmall();
        using var model = UntrainedGenerator(preset, low, high, seed: 5);
        var cal = model.Calibration;
        double min = model.FeasibleRange.Min;
        var targets = Enumerable.Range(0, 240).Select(i => min + (high - min) * i / 239.0).ToArray();
        Assert.Contains(targets, t => t < cal.CostRange.Min); // the fixture reaches below the generator's lowest level

        var first = model.Generate(targets, hardLimit: true);
        var again = model.Generate(targets, hardLimit: true);
        // As after Load: equal calibration values in a new object, nothing memoised, G run at every input needed.
        var cold = model.GenerateWith(targets, hardLimit: true,
            ConstraintCalibration.FromGrid(ConstraintCalibration.Grid(low, high, model.FeasibleRange), cal.GridCosts));
        static object Key(GeneratedArchitecture g) => (g.Path, g.Repaired, g.Cost, g.FlopsM, g.ParamsM, g.Input, g.Target);
        Assert.Equal(cold.Select(Key), first.Select(Key));
        Assert.Equal(cold.Select(Key), again.Select(Key));
        Assert.All(first, g => Assert.True(g.Cost <= g.Target + 1e-9, $"{g.Cost} over {g.Target}"));
        Assert.Contains(first, g => g.Repaired);
        // Without the hard limit the budgets below the lowest level get that level, unrepaired.
        var plain = model.Generate(targets);
        Assert.All(plain.Where(g => g.Target < cal.CostRange.Min), g => Assert.Equal(cal.CostRange.Min, g.Cost));
        Assert.DoesNotContain(plain, g => g.Repaired);
    }

    [Fact]
    public void StoredAnswersAreReadAtLoadAndAnswersThatDoNotBelongToTheCalibrationAreRefused()
    {
        var (preset, low, high) = FashionSmall();
        using var model = UntrainedGenerator(preset, low, high, seed: 7);
        double min = model.FeasibleRange.Min;
        var targets = Enumerable.Range(0, 200).Select(i => min + (high - min) * i / 199.0).ToArray();
        static object Key(GeneratedArchitecture g) => (g.Path, g.Repaired, g.Cost, g.FlopsM, g.ParamsM, g.Input, g.Target);
        var dir = Directory.CreateTempSubdirectory("sgnas-answers-").FullName;
        try
        {
            var run = new RunFolder(dir);
            model.Save(run);
            var meta = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(run.GeneratorMeta))!["calibration"]!;
            var levels = meta["levels"]!.AsArray().Select(l => l!.GetValue<string>()).ToArray();
            var answers = meta["answers"]!.AsArray().Select(a => a!.GetValue<int>()).ToArray();
            Assert.Equal(ConstraintCalibration.DefaultPoints, answers.Length);
            Assert.Equal(model.Calibration.Levels, levels.Select(l => model.Cost.Of(SupernetPath.Parse(l, preset).ToArchitecture())).Distinct().Count());
            // Each stored answer is G's own decoded output at its grid input.
            var grid = model.Calibration.GridInputs;
            var raw = model.Generate(grid, calibrated: false);
            for (int i = 0; i < grid.Count; i++) Assert.Equal(raw[i].Path.ToString(), levels[answers[i]]);

            using (var loaded = ArchitectureGeneratorModel.Load(run, CPU, preset))
            {
                // Zeroed weights change G's raw output but not the calibrated answers: they were read at load, not generated.
                using (no_grad()) foreach (var p in loaded.Generator.parameters()) p.zero_();
                Assert.Equal(model.Generate(targets, hardLimit: false).Select(Key), loaded.Generate(targets, hardLimit: false).Select(Key));
                Assert.NotEqual(model.Generate(targets, calibrated: false).Select(g => g.Path), loaded.Generate(targets, calibrated: false).Select(g => g.Path));
            }

            // An answer pointing at a level of another cost (the manifest removed, as in a folder copied by hand).
            File.Delete(Path.Combine(dir, "generator.manifest.json"));
            int i0 = 0, other = Enumerable.Range(0, levels.Length).First(k => Math.Abs(
                model.Cost.Of(SupernetPath.Parse(levels[k], preset).ToArchitecture()) - model.Calibration.GridCosts[i0]) > 1e-6);
            var text = File.ReadAllText(run.GeneratorMeta);
            var node = System.Text.Json.Nodes.JsonNode.Parse(text)!;
            node["calibration"]!["answers"]![i0] = other;
            File.WriteAllText(run.GeneratorMeta, node.ToJsonString());
            var e = Assert.Throws<InvalidDataException>(() => ArchitectureGeneratorModel.Load(run, CPU, preset));
            Assert.Contains("calibration.answers[0]", e.Message);
            Assert.Contains("generator.json", e.Message);
            node["calibration"]!["answers"]![i0] = levels.Length;
            File.WriteAllText(run.GeneratorMeta, node.ToJsonString());
            e = Assert.Throws<InvalidDataException>(() => ArchitectureGeneratorModel.Load(run, CPU, preset));
            Assert.Contains($"calibration.answers[0] is {levels.Length}", e.Message);
            // A folder written before answers were stored still loads; G runs at the inputs it needs.
            node["calibration"]!.AsObject().Remove("answers");
            node["calibration"]!.AsObject().Remove("levels");
            File.WriteAllText(run.GeneratorMeta, node.ToJsonString());
            using var legacy = ArchitectureGeneratorModel.Load(run, CPU, preset);
            Assert.Equal(model.Generate(targets, hardLimit: true).Select(Key), legacy.Generate(targets, hardLimit: true).Select(Key));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
