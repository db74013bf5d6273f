using System.Text.Json;
using Sgnas.MLNet.Tests.Data;

namespace Sgnas.Cli.Tests;

/// <summary>--data takes an image-folder tree: decoded through Sgnas.MLNet, resized and converted to the preset.</summary>
public sealed class ImageFolderDataTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-cli-images-" + Guid.NewGuid().ToString("N"));

    public ImageFolderDataTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void TrainSupernetReadsAPngTreeResizedToThePresetAndItsWeightsGoToPyTorchFormats()
    {
        string preset = Path.Combine(_dir, "tiny28.json");
        File.WriteAllText(preset, """
            { "name": "tiny28", "inputChannels": 1, "inputSize": 28, "numClasses": 10, "stemChannels": 4, "stemStride": 2,
              "firstBlockChannels": 4, "layers": [ {"outChannels": 8, "stride": 2}, {"outChannels": 8, "stride": 1} ],
              "headChannels": 16, "mean": [0.286], "std": [0.353] }
            """);
        // 10 classes × 4 RGB 32×32 PNGs: the preset wants 28×28 gray, so every image is resized and converted.
        string tree = Path.Combine(_dir, "images");
        var r = new Random(1);
        for (int c = 0; c < 10; c++)
            for (int i = 0; i < 4; i++)
            {
                var px = new byte[3 * 32 * 32];
                r.NextBytes(px);
                string path = Path.Combine(tree, $"class{c}", $"{i}.png");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                File.WriteAllBytes(path, PngWriter.Encode(px, 3, 32, 32));
            }

        string run = Path.Combine(_dir, "run");
        var (exit, stdout, stderr) = CliRunner.Run("train-supernet", "--preset", preset, "--data", tree, "--epochs", "1", "--validation-fraction", "0.25",
            "--batch-size", "8", "--threads", "1", "--out", run, "--json");
        Assert.True(exit == 0, stderr);
        // A tree without test/ or val/ keeps a deterministic held-out test part out of training (README, Reliability).
        var trainedLine = System.Text.RegularExpressions.Regex.Match(stderr, @"on (\d+) images");
        Assert.True(trainedLine.Success, stderr);
        Assert.InRange(int.Parse(trainedLine.Groups[1].Value), 20, 39);
        using var doc = JsonDocument.Parse(stdout);
        Assert.Equal(1, doc.RootElement.GetProperty("epochsCompleted").GetInt32());
        Assert.True(File.Exists(Path.Combine(run, "supernet.pt")));

        // The trained supernet goes to PyTorch's formats and comes back with the same weights.
        string weights = Path.Combine(_dir, "supernet.safetensors");
        var export = CliRunner.Run("export-weights", "--run", run, "--out", weights, "--json");
        Assert.True(export.Exit == 0, export.Stderr);
        Assert.Contains("SafeTensors", export.Stdout);
        var runFolder = new Sgnas.IO.RunFolder(run);
        var (trained, _) = Sgnas.IO.SupernetCheckpoint.Load(runFolder, TorchSharp.torch.CPU);
        using (trained)
        using (var back = Sgnas.IO.WeightsInterop.ImportSupernet(Sgnas.IO.SupernetCheckpoint.ReadPreset(runFolder), weights))
        {
            var a = trained.state_dict();
            var c = back.state_dict();
            Assert.Equal(a.Keys.Order(), c.Keys.Order());
            Assert.All(a, kv => Assert.True(kv.Value.equal(c[kv.Key]).all().item<bool>(), kv.Key));
        }
        var refused = CliRunner.Run("export-weights", "--run", run, "--out", Path.Combine(_dir, "w.onnx"));
        Assert.Equal(2, refused.Exit);
        Assert.Contains(".safetensors", refused.Stderr);
    }
}
