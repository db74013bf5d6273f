using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.Cost;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Tests;

/// <summary>search and compare end to end on a tiny supernet and a 64-image IDX dataset written here.</summary>
public sealed class SearchCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-cli-search-").FullName;
    private readonly (double Min, double Max) _range;

    public SearchCommandTests()
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        var preset = new SearchSpacePreset
        {
            Name = "tiny-cli", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
            FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
        };
        _range = new FlopsLookupTable(preset).Range();
        TorchSharp.torch.manual_seed(0);
        using var net = new Supernet(preset);
        SupernetCheckpoint.Save(new RunFolder(_dir), net, new SupernetCheckpointInfo
        {
            Preset = SupernetCheckpoint.PresetNode(preset),
            Options = JsonNode.Parse("""{"validationFraction": 0.25, "seed": 0}"""),
        });
        TinyIdx.WriteTrain(_dir, 64);
    }

    private string Target(double share) => (_range.Min + share * (_range.Max - _range.Min)).ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void SearchPrintsOneJsonObjectWithinTheTarget()
    {
        var (exit, stdout, stderr) = CliRunner.Run("search", "--run", _dir, "--dataset", _dir, "--strategy", "evolution", "--flops", Target(0.5),
            "--population", "3", "--iterations", "2", "--top-k", "2", "--recalibration-images", "16", "--val-images", "16", "--json");
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal("evolution", r.GetProperty("strategy").GetString());
        Assert.True(r.GetProperty("flopsM").GetDouble() <= r.GetProperty("targetFlopsM").GetDouble());
        Assert.InRange(r.GetProperty("valTop1").GetDouble(), 0, 1);
        Assert.InRange(r.GetProperty("evaluated").GetInt32(), 1, 6);
        Assert.True(r.GetProperty("seconds").GetDouble() > 0);
        ArchitectureCodec.Parse(r.GetProperty("architecture").GetString()!);
    }

    [Fact]
    public void CompareWritesResultsAndPlots()
    {
        string outDir = Path.Combine(_dir, "cmp");
        var (exit, stdout, stderr) = CliRunner.Run("compare", "--run", _dir, "--dataset", _dir, "--flops", $"{Target(0.3)},{Target(0.7)}",
            "--evaluations", "2", "--population", "2", "--iterations", "1", "--top-k", "1", "--random-points", "3",
            "--recalibration-images", "16", "--val-images", "16", "--out", outDir, "--json");
        Assert.True(exit == 0, stderr);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(4, json["results"]!.AsArray().Count);
        Assert.Equal(2, json["totals"]!.AsArray().Count);
        foreach (var f in new[] { "results.csv", "results.json", "fig6a_accuracy_vs_flops.png", "fig7a_target_vs_generated.png" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
    }

    [Fact]
    public void ImpossibleTargetFailsWithOneLineGivingTheFeasibleRange()
    {
        var (exit, stdout, stderr) = CliRunner.Run("search", "--run", _dir, "--dataset", _dir, "--strategy", "random", "--flops", (_range.Min * 0.9).ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "--evaluations", "2", "--recalibration-images", "16", "--val-images", "16", "--json");
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        var errors = stderr.Split('\n').Where(l => l.StartsWith("sgnas search:")).ToList();
        Assert.Single(errors);
        Assert.Contains("no architecture under", errors[0]);
        Assert.Contains("feasible range is", errors[0]);
    }

    [Fact]
    public void MissingTargetAndUnknownStrategyAreUsageErrors()
    {
        Assert.Equal(2, CliRunner.Run("search", "--run", _dir).Exit);
        var (exit, _, stderr) = CliRunner.Run("search", "--run", _dir, "--dataset", _dir, "--flops", Target(0.5), "--strategy", "bogus",
            "--recalibration-images", "16", "--val-images", "16");
        Assert.Equal(2, exit);
        Assert.Contains("--strategy must be random, evolution, generator or unas; got 'bogus'.", stderr);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
