using Sgnas.Data;
using Sgnas.IO;
using Sgnas.MLNet.Onnx;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.MLNet.Tests.Onnx;

/// <summary>A retraining folder exported to ONNX and checked with ONNX Runtime (the <c>sgnas export</c> path).</summary>
public sealed class RetrainExportTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-retrain-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SearchSpacePreset Tiny() => new()
    {
        Name = "tiny", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
        Mean = new[] { 0.3f }, Std = new[] { 0.4f },
    };

    private static ImageDataset Synthetic(int count, int seed)
    {
        var r = new Random(seed);
        var pixels = new byte[count * 64];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)r.Next(256);
        return new ImageDataset(pixels, 1, 8, 8, Enumerable.Range(0, count).Select(i => i % 3).ToArray(), 3);
    }

    [Fact]
    public void ExportedRawPixelModelReproducesTheReportedTestAccuracyInOnnxRuntime()
    {
        var p = Tiny();
        var arch = ArchitectureCodec.Parse("e2:3,5|e3:3,5,7", p);
        string run = Path.Combine(_dir, "run");
        var test = Synthetic(30, 2);
        var metrics = new ArchitectureRetrainer(p, arch, new RetrainOptions { Epochs = 1, BatchSize = 8, WarmupEpochs = 0.5, ValidationFraction = 0.25 })
            .Run(Synthetic(48, 1), test, new RunFolder(run).RetrainDir);

        // the run folder resolves to its retrain/ sub-folder
        var report = RetrainedNetworkExporter.Export(run, options: new RetrainedExportOptions { RawPixels = true });
        Assert.Equal(Path.Combine(run, "model.onnx"), report.OnnxPath);
        Assert.True(File.Exists(report.OnnxPath));
        Assert.InRange(report.MaxAbsDifference, 0, report.AllowedDifference);
        Assert.Equal(new[] { 0.3f }, report.NormalizationMean);

        // ONNX Runtime on the raw test pixels classifies like best.pt did in TorchSharp
        var pixels = test.Pixels.Select(b => (float)b).ToArray();
        var logits = OnnxVerifier.Run(report.OnnxPath, report.InputName, pixels, new long[] { test.Count, 1, 8, 8 })[0];
        int correct = 0;
        for (int i = 0; i < test.Count; i++)
        {
            var row = logits.Data.AsSpan(i * 3, 3).ToArray();
            if (Array.IndexOf(row, row.Max()) == test.Labels[i]) correct++;
        }
        Assert.Equal(metrics.TestTop1!.Value, (double)correct / test.Count, 9);

        // normalised-input export of the same folder, to an explicit path
        string plain = Path.Combine(_dir, "plain.onnx");
        var r2 = RetrainedNetworkExporter.Export(Path.Combine(run, "retrain"), plain);
        Assert.False(r2.RawPixels);
        Assert.True(File.Exists(plain));
    }

    [Fact]
    public void AFolderWithoutARetrainedNetworkIsRejected()
    {
        var e = Assert.Throws<FileNotFoundException>(() => RetrainedNetworkExporter.Export(_dir));
        Assert.Contains("sgnas retrain", e.Message);
        Assert.False(File.Exists(Path.Combine(_dir, "model.onnx")));
    }
}
