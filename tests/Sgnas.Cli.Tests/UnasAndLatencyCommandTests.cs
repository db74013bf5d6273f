using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.Cost;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Tests;

/// <summary><c>search --strategy unas</c>, <c>compare --unas</c> and <c>latency-table</c> end to end (tiny sizes; no timing assertions).</summary>
public sealed class UnasAndLatencyCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-cli-unas-").FullName;
    private readonly (double Min, double Max) _range;
    private readonly SearchSpacePreset _preset;

    public UnasAndLatencyCommandTests()
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        var preset = new SearchSpacePreset
        {
            Name = "tiny-cli", InputChannels = 1, InputSize = 8, NumClasses = 10, StemChannels = 4, StemStride = 1,
            FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
        };
        _preset = preset;
        _range = new FlopsLookupTable(preset).Range();
        TorchSharp.torch.manual_seed(0);
        using var net = new Supernet(preset);
        SupernetCheckpoint.Save(new RunFolder(_dir), net, new SupernetCheckpointInfo
        {
            Preset = SupernetCheckpoint.PresetNode(preset),
            Options = JsonNode.Parse("""{"validationFraction": 0.25, "seed": 0}"""),
        });
        // Ten classes in the head because the IDX loader reads any IDX file as ten-class data (train-generator checks it).
        TinyIdx.WriteTrain(_dir, 64);
    }

    private string Target(double share) => (_range.Min + share * (_range.Max - _range.Min)).ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private static readonly string[] TinyUnas = { "--unas-steps", "2", "--unas-samples", "2", "--unas-images", "8", "--recalibration-images", "16", "--val-images", "16" };

    [Fact]
    public void SearchWithUnasPrintsItsPick()
    {
        var (exit, stdout, stderr) = CliRunner.Run(new[] { "search", "--run", _dir, "--dataset", _dir, "--strategy", "unas", "--flops", Target(0.5), "--unas-objective", "gen", "--json" }.Concat(TinyUnas).ToArray());
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("unas", doc.RootElement.GetProperty("strategy").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("evaluated").GetInt32());
        ArchitectureCodec.Parse(doc.RootElement.GetProperty("architecture").GetString()!);
    }

    [Fact]
    public void CompareWithUnasAddsItsRows()
    {
        string outDir = Path.Combine(_dir, "cmp");
        var (exit, stdout, stderr) = CliRunner.Run(new[] { "compare", "--run", _dir, "--dataset", _dir, "--flops", $"{Target(0.3)},{Target(0.7)}", "--unas",
            "--evaluations", "2", "--population", "2", "--iterations", "1", "--top-k", "1", "--random-points", "3", "--out", outDir, "--json" }.Concat(TinyUnas).ToArray());
        Assert.True(exit == 0, stderr);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(6, json["results"]!.AsArray().Count);
        Assert.Contains(json["totals"]!.AsArray(), t => t!["strategy"]!.GetValue<string>() == "unas");
    }

    [Fact]
    public void BadUnasObjectiveIsAUsageError()
    {
        var (exit, _, stderr) = CliRunner.Run("search", "--run", _dir, "--strategy", "unas", "--flops", Target(0.5), "--unas-objective", "best");
        Assert.Equal(2, exit);
        Assert.Contains("--unas-objective must be val, gen", stderr);
    }

    [Fact]
    public void LatencyTableWritesAVersionedTableAndValidates()
    {
        string path = Path.Combine(_dir, "latency.json");
        var (exit, stdout, stderr) = CliRunner.Run("latency-table", "--preset", "fashion-small", "--warmup", "1", "--repetitions", "3",
            "--min-sample-ms", "0", "--validate", "4", "--out", path, "--json");
        Assert.True(exit == 0, stderr);
        var table = LatencyTable.Load(path);
        Assert.Equal("fashion-small", table.Preset);
        Assert.Equal("onnxruntime", table.Runtime.Name);
        Assert.Equal(1, table.Runtime.Threads);
        var json = JsonNode.Parse(stdout)!;
        Assert.Equal(4, json["validation"]!["points"]!.AsArray().Count);
        // validating the written table again reads it instead of measuring
        var (exit2, _, stderr2) = CliRunner.Run("latency-table", "--preset", "fashion-small", "--table", path, "--validate", "2", "--warmup", "1", "--repetitions", "2", "--json");
        Assert.True(exit2 == 0, stderr2);
        var (exit3, _, stderr3) = CliRunner.Run("latency-table", "--preset", "cifar", "--table", path, "--validate", "2");
        Assert.Equal(1, exit3);
        Assert.Contains("does not fit preset 'cifar'", stderr3);
    }

    [Fact]
    public void CtrlCEndsALatencyMeasurementWithExitCode130AndWritesNothing()
    {
        // The measurement takes no cancellation token, so the first Ctrl-C ends it at once with the one-line message.
        string path = Path.Combine(_dir, "never.json");
        var (exit, stdout, all) = CliRunner.Interrupt(line => !line.Contains("NNPACK", StringComparison.Ordinal), "log line",
            "latency-table", "--preset", "fashion-small", "--warmup", "1", "--repetitions", "100000", "--min-sample-ms", "0", "--out", path, "--json");
        Assert.Equal(130, exit);
        Assert.Contains("sgnas latency-table: cancelled; nothing was written to", all);
        Assert.Equal("", stdout);
        Assert.False(File.Exists(path));
    }

    /// <summary>A latency table of the fixture's preset measured by <c>sgnas latency-table</c> (few repetitions: values are not judged).</summary>
    private (string Path, LatencyCostModel Model) MeasureTable()
    {
        string presetPath = Path.Combine(_dir, "tiny-cli.json");
        File.WriteAllText(presetPath, _preset.ToJson());
        string table = Path.Combine(_dir, "tiny-latency.json");
        var (exit, _, stderr) = CliRunner.Run("latency-table", "--preset", presetPath, "--warmup", "1", "--repetitions", "3", "--min-sample-ms", "0", "--out", table);
        Assert.True(exit == 0, stderr);
        return (table, new LatencyCostModel(_preset, LatencyTable.Load(table)));
    }

    [Fact]
    public void UnasSearchesUnderALatencyBudgetFromAMeasuredTable()
    {
        var (table, model) = MeasureTable();
        var (lo, hi) = model.Range();
        string budget = (0.5 * (lo + hi)).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var (exit, stdout, stderr) = CliRunner.Run(new[] { "search", "--run", _dir, "--dataset", _dir, "--strategy", "unas", "--budget-ms", budget, "--latency-table", table, "--json" }.Concat(TinyUnas).ToArray());
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal("latency", doc.RootElement.GetProperty("constraint").GetString());
        var arch = ArchitectureCodec.Parse(doc.RootElement.GetProperty("architecture").GetString()!);
        Assert.Equal(model.PredictMs(arch), doc.RootElement.GetProperty("predictedMs").GetDouble(), 9);

        var (e3, _, s3) = CliRunner.Run("search", "--run", _dir, "--strategy", "unas", "--budget-ms", budget);
        Assert.Equal(2, e3);
        Assert.Contains("--budget-ms needs --latency-table", s3);
        var (e4, _, s4) = CliRunner.Run("search", "--run", _dir, "--strategy", "unas", "--budget-ms", budget, "--flops", Target(0.5), "--latency-table", table);
        Assert.Equal(2, e4);
        Assert.Contains("either --flops or --budget-ms", s4);
    }

    /// <summary>
    /// A latency budget end to end through the CLI: train-generator against the table, generate in ms, evolution and
    /// the generator under a ms budget, compare on ms budgets with ONNX Runtime timings; each pick's predicted ms is
    /// the table's prediction for its architecture, and the baselines' picks fit their budget.
    /// </summary>
    [Fact]
    public void LatencyBudgetsRunThroughTrainGenerateSearchAndCompare()
    {
        var (table, model) = MeasureTable();
        var (lo, hi) = model.Range();
        string Ms(double share) => (lo + share * (hi - lo)).ToString("R", System.Globalization.CultureInfo.InvariantCulture);

        var (eg, _, sg) = CliRunner.Run("train-generator", "--run", _dir, "--dataset", _dir, "--epochs", "1", "--batch-size", "16", "--latency-table", table, "--json");
        Assert.True(eg == 0, sg);
        var (en, gen, sn) = CliRunner.Run("generate", "--run", _dir, "--budget-ms", $"{Ms(0.3)},{Ms(0.8)}", "--hard-limit", "--json");
        Assert.True(en == 0, sn);
        foreach (var g in JsonNode.Parse(gen)!.AsArray())
        {
            var arch = ArchitectureCodec.Parse(g!["architecture"]!.GetValue<string>());
            Assert.Equal(model.PredictMs(arch), g["predictedMs"]!.GetValue<double>(), 9);
            Assert.True(g["predictedMs"]!.GetValue<double>() <= g["budgetMs"]!.GetValue<double>() + 1e-9);
        }
        var (ef, _, sf) = CliRunner.Run("generate", "--run", _dir, "--flops", Target(0.5));
        Assert.NotEqual(0, ef);
        Assert.Contains("latency", sf);

        foreach (var strategy in new[] { "evolution", "generator" })
        {
            var (es, so, se) = CliRunner.Run("search", "--run", _dir, "--dataset", _dir, "--strategy", strategy, "--budget-ms", Ms(0.6), "--latency-table", table,
                "--population", "2", "--iterations", "1", "--top-k", "1", "--hard-limit", "--recalibration-images", "16", "--val-images", "16", "--json");
            Assert.True(es == 0, se);
            var r = JsonNode.Parse(so)!;
            Assert.Equal("latency", r["constraint"]!.GetValue<string>());
            Assert.Equal(model.PredictMs(ArchitectureCodec.Parse(r["architecture"]!.GetValue<string>())), r["predictedMs"]!.GetValue<double>(), 9);
            Assert.True(r["withinBudget"]!.GetValue<bool>(), so);
        }

        string outDir = Path.Combine(_dir, "cmp-ms");
        var (ec, co, ce) = CliRunner.Run("compare", "--run", _dir, "--dataset", _dir, "--budget-ms", $"{Ms(0.4)},{Ms(0.7)}", "--latency-table", table, "--measure-latency",
            "--evaluations", "2", "--population", "2", "--iterations", "1", "--top-k", "1", "--random-points", "2", "--recalibration-images", "16", "--val-images", "16",
            "--out", outDir, "--json");
        Assert.True(ec == 0, ce);
        var rows = JsonNode.Parse(co)!["results"]!.AsArray();
        Assert.Equal(6, rows.Count);
        Assert.All(rows, row => Assert.True(row!["measuredMs"]!.GetValue<double>() > 0, row.ToJsonString()));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
