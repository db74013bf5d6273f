using System.Text.Json;
using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;

namespace Sgnas.Cli.Tests;

public sealed class GeneratorCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-cli-gen-" + Guid.NewGuid().ToString("N"));
    private readonly SearchSpacePreset _preset = SearchSpacePreset.Load("fashion-small");

    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true); }

    private RunFolder SupernetRun()
    {
        var run = new RunFolder(_dir);
        using var net = new Supernet(_preset);
        SupernetCheckpoint.Save(run, net, new SupernetCheckpointInfo
        {
            Preset = SupernetCheckpoint.PresetNode(_preset),
            Options = System.Text.Json.Nodes.JsonNode.Parse("{\"validationFraction\":0.1,\"seed\":0}"),
        });
        return run;
    }

    [Fact]
    public void TrainGeneratorWritesTheGeneratorAndReportsCorrelations()
    {
        var run = SupernetRun();
        var (exit, stdout, stderr) = CliRunner.Run("train-generator", "--run", _dir, "--epochs", "1", "--batch-size", "16",
            "--max-val-images", "16", "--seed", "2", "--constraint-margin", "0.05", "--json");
        Assert.True(exit == 0, stderr);
        Assert.True(File.Exists(run.GeneratorWeights) && File.Exists(run.GeneratorMeta));
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(0.05, doc.RootElement.GetProperty("constraintMarginM").GetDouble(), 12);
        var h = doc.RootElement.GetProperty("history");
        Assert.Equal(1, h.GetArrayLength());
        Assert.Equal(10, h[0].GetProperty("generatedM").GetArrayLength());
        Assert.Equal(16, doc.RootElement.GetProperty("validationImages").GetInt32());
        Assert.Contains("kendall", stderr);
    }

    [Fact]
    public void TrainGeneratorBuildsTheGeneratorWidthAskedForAndGenerateLoadsIt()
    {
        var run = SupernetRun();
        var (exit, _, stderr) = CliRunner.Run("train-generator", "--run", _dir, "--epochs", "1", "--batch-size", "16",
            "--max-val-images", "16", "--hidden-channels", "8");
        Assert.True(exit == 0, stderr);
        using (var doc = JsonDocument.Parse(File.ReadAllText(run.GeneratorMeta)))
            Assert.Equal(8, doc.RootElement.GetProperty("network").GetProperty("hiddenChannels").GetInt32());
        using (var model = ArchitectureGeneratorModel.Load(run, torch.CPU))
            Assert.All(model.Generator.parameters().Where(p => p.dim() == 4 && p.shape[1] > 1 && p.shape[0] > 1),
                p => Assert.Equal(8, p.shape[0]));
        var (exit2, stdout2, stderr2) = CliRunner.Run("generate", "--run", _dir, "--flops", "3", "--json");
        Assert.True(exit2 == 0, stderr2);
        Assert.Contains("architecture", stdout2);
        var (bad, _, badErr) = CliRunner.Run("bench", "--hidden-channels", "8");
        Assert.NotEqual(0, bad);
        Assert.Contains("--generation", badErr);
    }

    [Fact]
    public void GeneratePrintsOneObjectPerTargetAndRejectsInfeasibleTargets()
    {
        var run = SupernetRun();
        var table = new FlopsLookupTable(_preset);
        var (low, high) = table.ConstraintInterval();
        using (var model = new ArchitectureGeneratorModel(_preset, ArchitectureGenerator.For(_preset, seed: 1),
                   PriorPool.Build(_preset, low, high, 5, 1), low, high, new GeneratorOptions(), 5.0, null, torch.CPU))
            model.Save(run);
        double mid = (low + high) / 2;
        var (exit, stdout, stderr) = CliRunner.Run("generate", "--run", _dir, "--flops", $"{low + 0.2:R},{mid:R},{high:R}", "--hard-limit", "--json");
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(3, doc.RootElement.GetArrayLength());
        foreach (var e in doc.RootElement.EnumerateArray())
        {
            var arch = ArchitectureCodec.Parse(e.GetProperty("architecture").GetString()!, _preset);
            Assert.Equal(table.CostM(arch), e.GetProperty("flopsM").GetDouble(), 6);
            Assert.True(e.GetProperty("flopsM").GetDouble() <= e.GetProperty("targetFlopsM").GetDouble() + 1e-9);
            Assert.True(e.GetProperty("paramsM").GetDouble() > 0);
            e.GetProperty("repaired").GetBoolean();
        }
        var (exit2, stdout2, stderr2) = CliRunner.Run("generate", "--run", _dir, "--flops", $"{high * 3:R}", "--json");
        Assert.Equal(1, exit2);
        Assert.Equal("", stdout2);
        Assert.Contains("feasible range", stderr2);
        Assert.Single(stderr2.Trim().Split('\n'), l => !l.Contains("NNPACK"));
    }
}
