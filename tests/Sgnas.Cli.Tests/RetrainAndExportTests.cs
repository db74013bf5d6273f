using System.Buffers.Binary;
using System.Text.Json;

namespace Sgnas.Cli.Tests;

/// <summary><c>sgnas retrain</c> and <c>sgnas export</c> in fresh processes, on small IDX files the test writes.</summary>
public sealed class RetrainAndExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-cli-retrain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void WriteIdx(string folder, string prefix, int count, int seed)
    {
        var r = new Random(seed);
        var images = new byte[16 + count * 28 * 28];
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(0), 0x0803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), count);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), 28);
        r.NextBytes(images.AsSpan(16));
        var labels = new byte[8 + count];
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(0), 0x0801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), count);
        for (int i = 0; i < count; i++) labels[8 + i] = (byte)(i % 10);
        File.WriteAllBytes(Path.Combine(folder, $"{prefix}-images-idx3-ubyte"), images);
        File.WriteAllBytes(Path.Combine(folder, $"{prefix}-labels-idx1-ubyte"), labels);
    }

    private const string Arch = "e2:3,3|e2:3,5|e2:3,3|e2:3,3|e2:3,7|e2:3,3";

    [Fact]
    public void ReferenceRetrainingFlagsReachTheOptionsAndTheExportStillMatches()
    {
        string data = Path.Combine(_dir, "data-ref"), run = Path.Combine(_dir, "run-ref");
        Directory.CreateDirectory(data);
        WriteIdx(data, "train", 64, 1);
        WriteIdx(data, "t10k", 16, 2);
        var (exit, stdout, stderr) = CliRunner.Run("retrain", "--arch", Arch, "--data", data, "--out", run, "--epochs", "1",
            "--batch-size", "16", "--warmup-epochs", "0.5", "--lr-per-256", "0.016", "--ema", "0.99", "--init", "reference",
            "--se", "--se-bottleneck", "expanded", "--stem-se", "--dropout", "0.2", "--threads", "1", "--json");
        Assert.True(exit == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var o = doc.RootElement.GetProperty("options");
            Assert.Equal(0.016, o.GetProperty("learningRatePer256").GetDouble(), 12);
            Assert.Equal(0.99, o.GetProperty("emaDecay").GetDouble(), 12);
            Assert.Equal("Reference", o.GetProperty("init").GetString());
            var n = o.GetProperty("network");
            Assert.Equal("Expanded", n.GetProperty("seBottleneck").GetString());
            Assert.True(n.GetProperty("stemSqueezeExcite").GetBoolean());
            Assert.Equal(0.2, n.GetProperty("dropout").GetDouble(), 12);
        }
        Assert.True(File.Exists(Path.Combine(run, "ema.pt")));
        using var e = ExportWithinParity(run, Path.Combine(_dir, "ref.onnx"));
    }

    // sgnas export of a retraining folder, checked by ONNX Runtime within its stated tolerance; the export's JSON.
    private static JsonDocument ExportWithinParity(string run, string onnx, params string[] extra)
    {
        var ex = CliRunner.Run(["export", "--run", run, "--onnx", onnx, .. extra, "--json"]);
        Assert.True(ex.Exit == 0, ex.Stderr);
        var doc = JsonDocument.Parse(ex.Stdout);
        Assert.True(doc.RootElement.GetProperty("maxAbsDifference").GetDouble() <= doc.RootElement.GetProperty("allowedDifference").GetDouble());
        return doc;
    }

    [Fact]
    public void RetrainWritesBestCheckpointAndMetricsAndExportVerifiesWithOnnxRuntime()
    {
        string data = Path.Combine(_dir, "data"), run = Path.Combine(_dir, "run");
        Directory.CreateDirectory(data);
        WriteIdx(data, "train", 80, 1);
        WriteIdx(data, "t10k", 20, 2);

        var (exit, stdout, stderr) = CliRunner.Run("retrain", "--arch", Arch, "--data", data, "--out", run, "--epochs", "1",
            "--batch-size", "16", "--warmup-epochs", "0.5", "--se", "--hswish", "--threads", "1", "--json");
        Assert.True(exit == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var m = doc.RootElement;
            Assert.Equal(20, m.GetProperty("testImages").GetInt32());
            Assert.Equal(10, m.GetProperty("confusionMatrix").GetArrayLength());
            Assert.InRange(m.GetProperty("testTop1").GetDouble(), 0, 1);
            Assert.True(m.GetProperty("testTop5").GetDouble() >= m.GetProperty("testTop1").GetDouble());
            Assert.Equal(1, m.GetProperty("epochs").GetInt32());
            Assert.True(m.GetProperty("options").GetProperty("network").GetProperty("squeezeExcite").GetBoolean());
        }
        Assert.True(File.Exists(Path.Combine(run, "best.pt")));
        Assert.True(File.Exists(Path.Combine(run, "metrics.json")));

        // a second run into the same folder needs --resume
        var again = CliRunner.Run("retrain", "--arch", Arch, "--data", data, "--out", run, "--epochs", "1");
        Assert.Equal(1, again.Exit);
        Assert.Contains("--resume", again.Stderr);

        string onnx = Path.Combine(_dir, "m.onnx");
        using (var doc = ExportWithinParity(run, onnx, "--raw-pixels"))
            Assert.True(doc.RootElement.GetProperty("rawPixels").GetBoolean());
        Assert.True(new FileInfo(onnx).Length > 1000);

        // Weights round trip through PyTorch's format: the best epoch exported, imported over last.pt, loads equal.
        string pt = Path.Combine(_dir, "child.pt");
        var exported = CliRunner.Run("export-weights", "--run", run, "--child", "--out", pt);
        Assert.True(exported.Exit == 0, exported.Stderr);
        var imported = CliRunner.Run("import-weights", "--child", "--last", "--in", pt, "--run", run, "--json");
        Assert.True(imported.Exit == 0, imported.Stderr);
        var folder = new Sgnas.IO.RetrainFolder(run);
        var (best, _) = Sgnas.Training.ArchitectureRetrainer.LoadNetwork(folder, best: true);
        var (last, _) = Sgnas.Training.ArchitectureRetrainer.LoadNetwork(folder, best: false);
        using (best)
        using (last)
        {
            var a = best.state_dict();
            var b = last.state_dict();
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            Assert.All(a, kv => Assert.True(kv.Value.equal(b[kv.Key]).all().item<bool>(), kv.Key));
        }
        // Options that belong to a supernet import are refused with --child, naming them.
        var mixed = CliRunner.Run("import-weights", "--child", "--in", pt, "--run", run, "--preset", "cifar");
        Assert.Equal(2, mixed.Exit);
        Assert.Contains("--preset", mixed.Stderr);
    }

    [Fact]
    public void DataOfAnotherShapeIsRejectedInOneLine()
    {
        string data = Path.Combine(_dir, "data");
        Directory.CreateDirectory(data);
        WriteIdx(data, "train", 20, 1);
        string cifarArch = string.Join("|", Enumerable.Repeat("e2:3,3", 19));
        var (exit, stdout, stderr) = CliRunner.Run("retrain", "--preset", "cifar", "--arch", cifarArch, "--data", data, "--out", Path.Combine(_dir, "o"));
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        var lines = stderr.Trim().Split('\n').Where(l => !l.Contains("NNPACK")).ToArray();
        Assert.Single(lines);
        Assert.Contains("1×28×28", lines[0]);
        Assert.Contains("3×32×32", lines[0]);
    }
}
