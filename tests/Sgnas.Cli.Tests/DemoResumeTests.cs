using System.Buffers.Binary;
using System.Text.Json.Nodes;

namespace Sgnas.Cli.Tests;

/// <summary>Issue 13 case 7: an interrupted demo continues in the same folder with <c>--resume</c>.</summary>
public sealed class DemoResumeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-cli-demo-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>28×28 images whose class is a bright band at row 10·c/… so the demo has something to learn.</summary>
    private void WriteIdx(string prefix, int n, int seed)
    {
        var r = new Random(seed);
        var images = new byte[16 + n * 784];
        BinaryPrimitives.WriteInt32BigEndian(images, 0x803);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(4), n);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(8), 28);
        BinaryPrimitives.WriteInt32BigEndian(images.AsSpan(12), 28);
        var labels = new byte[8 + n];
        BinaryPrimitives.WriteInt32BigEndian(labels, 0x801);
        BinaryPrimitives.WriteInt32BigEndian(labels.AsSpan(4), n);
        for (int i = 0; i < n; i++)
        {
            int c = i % 10;
            labels[8 + i] = (byte)c;
            for (int k = 0; k < 784; k++) images[16 + i * 784 + k] = (byte)((k / 28) % 10 == c ? 150 + r.Next(60) : r.Next(40));
        }
        Directory.CreateDirectory(Path.Combine(_dir, "data"));
        File.WriteAllBytes(Path.Combine(_dir, "data", $"{prefix}-images-idx3-ubyte"), images);
        File.WriteAllBytes(Path.Combine(_dir, "data", $"{prefix}-labels-idx1-ubyte"), labels);
    }

    [Fact]
    public void AnInterruptedDemoResumesInTheSameFolderToTheSameResult()
    {
        WriteIdx("train", 300, 1);
        WriteIdx("t10k", 60, 2);
        string run = Path.Combine(_dir, "run");
        string[] args = ["demo", "--out", run, "--data", Path.Combine(_dir, "data"), "--supernet-epochs", "1", "--generator-epochs", "2",
            "--retrain-epochs", "1", "--max-train-images", "200", "--threads", "1"];
        var (exit, _, stderr) = CliRunner.Run(args);
        Assert.True(exit == 0, stderr);
        var first = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "demo.json")))!;
        Assert.Equal(60, first["testData"]!["images"]!.GetValue<int>());
        Assert.Contains("t10k-images-idx3-ubyte", first["testData"]!["source"]!.GetValue<string>());
        byte[] generator = File.ReadAllBytes(Path.Combine(run, "generator.pt"));

        // The state a kill after the generator's last epoch checkpoint leaves: no final generator, no retraining, no model.
        foreach (var f in new[] { "generator.pt", "generator.json", "generator.manifest.json", "model.zip", "model.onnx", "demo.json" })
            File.Delete(Path.Combine(run, f));
        Directory.Delete(Path.Combine(run, "retrain"), recursive: true);

        var (again, _, stderr2) = CliRunner.Run(args);
        Assert.Equal(2, again);
        Assert.Contains("--resume", stderr2);

        var (exit3, _, stderr3) = CliRunner.Run([.. args, "--resume"]);
        Assert.True(exit3 == 0, stderr3);
        Assert.DoesNotContain("[supernet]", stderr3); // the finished supernet is reused, not trained again
        var second = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "demo.json")))!;
        Assert.Equal(generator, File.ReadAllBytes(Path.Combine(run, "generator.pt")));
        Assert.Equal(first["report"]!["architecture"]!.GetValue<string>(), second["report"]!["architecture"]!.GetValue<string>());
        Assert.Equal(first["report"]!["testTop1"]!.GetValue<double>(), second["report"]!["testTop1"]!.GetValue<double>());
    }
}
