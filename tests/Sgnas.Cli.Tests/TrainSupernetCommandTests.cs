using System.Text.Json;

namespace Sgnas.Cli.Tests;

public sealed class TrainSupernetCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-cli-train-" + Guid.NewGuid().ToString("N"));

    public TrainSupernetCommandTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>A narrow two-layer preset for 28×28 gray images, so one epoch on a few hundred images is quick.</summary>
    private string TinyPreset()
    {
        string path = Path.Combine(_dir, "tiny28.json");
        File.WriteAllText(path, """
            { "name": "tiny28", "inputChannels": 1, "inputSize": 28, "numClasses": 10, "stemChannels": 4, "stemStride": 2,
              "firstBlockChannels": 4, "layers": [ {"outChannels": 8, "stride": 2}, {"outChannels": 8, "stride": 1} ],
              "headChannels": 16, "mean": [0.286], "std": [0.353] }
            """);
        return path;
    }

    [Fact]
    public void TrainsOneEpochLeavesACheckpointAndResumeOfAFinishedRunIsANoOp()
    {
        string run = Path.Combine(_dir, "run");
        var (exit, stdout, stderr) = CliRunner.Run("train-supernet", "--preset", TinyPreset(), "--epochs", "1", "--max-train-images", "300",
            "--batch-size", "32", "--threads", "1", "--out", run, "--json");
        Assert.True(exit == 0, stderr);
        using (var doc = JsonDocument.Parse(stdout))
        {
            var r = doc.RootElement;
            Assert.Equal(1, r.GetProperty("epochsCompleted").GetInt32());
            Assert.Equal(1, r.GetProperty("history").GetArrayLength());
            Assert.InRange(r.GetProperty("valTop1").GetDouble(), 0, 1);
            Assert.True(r.GetProperty("seconds").GetDouble() > 0);
        }
        Assert.Contains("epoch 1/1", stderr);
        foreach (var f in new[] { "supernet.pt", "supernet.optim.pt", "supernet.json" }) Assert.True(File.Exists(Path.Combine(run, f)), f);

        var again = CliRunner.Run("train-supernet", "--out", run, "--resume", "--json");
        Assert.True(again.Exit == 0, again.Stderr);
        using var doc2 = JsonDocument.Parse(again.Stdout);
        Assert.Equal(1, doc2.RootElement.GetProperty("epochsCompleted").GetInt32());

        var refused = CliRunner.Run("train-supernet", "--out", run, "--resume", "--epochs", "3");
        Assert.Equal(2, refused.Exit);
        Assert.Contains("drop --epochs", refused.Stderr);
    }

    [Fact]
    public void ReferenceRecipeIsStoredAndExplicitRateOverridesIt()
    {
        string run = Path.Combine(_dir, "ref");
        var (exit, _, stderr) = CliRunner.Run("train-supernet", "--preset", TinyPreset(), "--recipe", "reference", "--lr", "0.02",
            "--epochs", "1", "--max-train-images", "64", "--batch-size", "32", "--threads", "1", "--out", run);
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "supernet.json")));
        var o = doc.RootElement.GetProperty("options");
        Assert.Equal(4, o.GetProperty("pathsPerStep").GetInt32());
        Assert.Equal(4e-4, o.GetProperty("weightDecay").GetDouble(), 12);
        Assert.Equal(0.1, o.GetProperty("labelSmoothing").GetDouble(), 12);
        Assert.Equal("Reference", o.GetProperty("init").GetString());
        Assert.Equal(0.02, o.GetProperty("learningRate").GetDouble(), 12); // given, so not the recipe's 0.064

        var refused = CliRunner.Run("train-supernet", "--out", run, "--resume", "--recipe", "paper");
        Assert.Equal(2, refused.Exit);
        Assert.Contains("drop --recipe", refused.Stderr);

        // --paths-per-step replaces the recipe's K (the reference's other values at the paper's K = 3).
        string three = Path.Combine(_dir, "ref3");
        var k3 = CliRunner.Run("train-supernet", "--preset", TinyPreset(), "--recipe", "reference", "--paths-per-step", "3",
            "--epochs", "1", "--max-train-images", "64", "--batch-size", "32", "--threads", "1", "--out", three);
        Assert.True(k3.Exit == 0, k3.Stderr);
        using var doc3 = JsonDocument.Parse(File.ReadAllText(Path.Combine(three, "supernet.json")));
        var o3 = doc3.RootElement.GetProperty("options");
        Assert.Equal(3, o3.GetProperty("pathsPerStep").GetInt32());
        Assert.Equal(0.064, o3.GetProperty("learningRate").GetDouble(), 12);
    }

    [Fact]
    public void DataThatDoNotFitThePresetFailWithOneLine()
    {
        var (exit, _, stderr) = CliRunner.Run("train-supernet", "--preset", "cifar", "--epochs", "1", "--out", Path.Combine(_dir, "bad"));
        Assert.Equal(1, exit);
        Assert.Contains("1×28×28", stderr);
        Assert.Contains("3×32×32", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
    }
}
