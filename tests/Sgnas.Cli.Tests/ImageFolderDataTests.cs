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

        // import-weights makes a run folder of them whose supernet equals the trained one (round trip).
        string imported = Path.Combine(_dir, "imported");
        var import = CliRunner.Run("import-weights", "--in", weights, "--run", imported, "--preset", preset, "--data", tree, "--json");
        Assert.True(import.Exit == 0, import.Stderr);
        var (back2, _) = Sgnas.IO.SupernetCheckpoint.Load(new Sgnas.IO.RunFolder(imported), TorchSharp.torch.CPU);
        var (trained2, _) = Sgnas.IO.SupernetCheckpoint.Load(runFolder, TorchSharp.torch.CPU);
        using (back2)
        using (trained2)
        {
            var a = trained2.state_dict();
            var c = back2.state_dict();
            Assert.Equal(a.Keys.Order(), c.Keys.Order());
            Assert.All(a, kv => Assert.True(kv.Value.equal(c[kv.Key]).all().item<bool>(), kv.Key));
        }
        var again = CliRunner.Run("import-weights", "--in", weights, "--run", imported, "--preset", preset);
        Assert.Equal(1, again.Exit);
        Assert.Contains("--force", again.Stderr);

        // search reads the image tree the supernet recorded at the preset's 28×28 gray, not at the images' own
        // 32×32 RGB (which SearchSession used to load, and then refuse as the wrong shape).
        string max = new Sgnas.Cost.FlopsLookupTable(Sgnas.SearchSpace.SearchSpacePreset.Load(preset)).Range().Max
            .ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        var search = CliRunner.Run("search", "--run", run, "--strategy", "random", "--flops", max, "--evaluations", "2",
            "--recalibration-images", "8", "--val-images", "8", "--json");
        Assert.True(search.Exit == 0, search.Stderr);
        using var found = JsonDocument.Parse(search.Stdout);
        Assert.Equal("random", found.RootElement.GetProperty("strategy").GetString());
        // UNAS reads the same tree again for its batches, at the preset's size as well.
        var unas = CliRunner.Run("search", "--run", run, "--strategy", "unas", "--flops", max, "--unas-steps", "1", "--unas-samples", "2",
            "--unas-images", "4", "--recalibration-images", "8", "--val-images", "8", "--json");
        Assert.True(unas.Exit == 0, unas.Stderr);
    }
}
