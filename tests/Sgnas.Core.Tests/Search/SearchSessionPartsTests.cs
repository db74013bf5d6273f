using System.Text.Json.Nodes;
using Sgnas.Generation;
using Sgnas.Modules;
using Sgnas.Search;
using Sgnas.Training;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Search;

public class SearchSessionPartsTests
{
    [Fact]
    public void SplitReproducesTheSupernetValidationPartThatTheGeneratorUses()
    {
        var data = SearchFixtures.Images(64);
        var options = JsonNode.Parse("""{"validationFraction": 0.25, "seed": 3, "maxTrainImages": 48, "epochs": 2}""");
        var split = SupernetDataSplit.FromOptions(options);
        Assert.Equal(new SupernetDataSplit(0.25, 3, 48, null), split);
        var idx = split.Indices(data);
        Assert.Equal(GeneratorData.ValidationIndices(data, options), idx.Validation);
        Assert.Equal(48, idx.Train.Length + idx.Validation.Length);
        Assert.Empty(idx.Train.Intersect(idx.Validation));

        var defaults = SupernetDataSplit.FromOptions(null);
        Assert.Equal(new SupernetDataSplit(0.1, 0, null, null), defaults);
        Assert.Equal(GeneratorData.ValidationIndices(data, null), defaults.Indices(data).Validation);
        // malformed fields fall back to the defaults instead of failing
        Assert.Equal(defaults, SupernetDataSplit.FromOptions(JsonNode.Parse("""{"validationFraction": "x", "seed": 1.5, "maxTrainImages": -3}""")));
    }

    [Fact]
    public void GeneratorTrainingTimeIsReadFromTheFieldOrTheHistory()
    {
        var dir = Directory.CreateTempSubdirectory("sgnas-gen-meta-").FullName;
        try
        {
            string path = Path.Combine(dir, "generator.json");
            Assert.Equal(0, SearchSession.ReadTrainingSeconds(path));
            File.WriteAllText(path, """{"trainingSeconds": 12.5, "history": [{"seconds": 1}]}""");
            Assert.Equal(12.5, SearchSession.ReadTrainingSeconds(path));
            File.WriteAllText(path, """{"history": [{"epoch": 1, "seconds": 2.5}, {"epoch": 2, "seconds": 4}]}""");
            Assert.Equal(6.5, SearchSession.ReadTrainingSeconds(path));
            File.WriteAllText(path, "{ not json");
            Assert.Equal(0, SearchSession.ReadTrainingSeconds(path));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void GeneratorStrategyFromAModelScoresWhatTheModelGenerates()
    {
        using var net = SearchFixtures.Net();
        using var ev = SearchFixtures.Evaluator(net, recalibration: 16, validation: 12);
        var p = net.Preset;
        var (lo, hi) = ev.Table.Range();
        using var model = new ArchitectureGeneratorModel(p, ArchitectureGenerator.For(p), PriorPool.Build(p, lo, hi, buckets: 3), lo, hi,
            new GeneratorOptions(), 1.0, null, CPU);
        double target = lo + 0.4 * (hi - lo);
        var expected = model.Generate(new[] { target }, hardLimit: true)[0];
        var strategy = GeneratorSearchStrategy.FromModel(model, ev, hardLimit: true, trainingSeconds: 7);
        var r = strategy.Search(target);
        Assert.Equal(expected.Architecture, r.Architecture);
        Assert.Equal(expected.FlopsM, r.FlopsM, 9);
        Assert.True(r.WithinTarget);
        Assert.Equal(1, r.Evaluated);
        Assert.Equal(7, strategy.SetupSeconds);
        Assert.Equal("generator", strategy.Name);
    }
}
