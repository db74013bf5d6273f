using System.Text.RegularExpressions;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Tests;

/// <summary>
/// Runs stay quiet: libtorch writes no warning lines of its own to stderr (issue 10). The warnings came from
/// convolutions without gradient (NNPACK, "Could not initialize NNPACK! Reason: Unsupported hardware." on this
/// project's CPUs), so the runs cover generator training, generation and candidate evaluation in search, each in a
/// fresh process.
/// </summary>
public sealed class QuietRunTests : IDisposable
{
    // glog-style lines of libtorch's c10 logger, e.g. "[W1201 12:02:53.264087137 NNPACK.cpp:56] ...".
    private static readonly Regex LibtorchLogLine = new(@"^\[[WEIF]\d{4} \d\d:\d\d:\d\d", RegexOptions.Multiline);

    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-cli-quiet-" + Guid.NewGuid().ToString("N"));
    private readonly SearchSpacePreset _preset = SearchSpacePreset.Load("fashion-small");

    public void Dispose() { if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true); }

    private static void AssertQuiet(string stderr, string what)
    {
        Assert.False(LibtorchLogLine.IsMatch(stderr), $"{what} wrote libtorch log lines:\n{stderr}");
        Assert.DoesNotContain("NNPACK", stderr);
    }

    [Fact]
    public void GeneratorTrainingGenerationAndSearchWriteNoLibtorchWarnings()
    {
        var run = new RunFolder(_dir);
        using (var net = new Supernet(_preset))
            SupernetCheckpoint.Save(run, net, new SupernetCheckpointInfo
            {
                Preset = SupernetCheckpoint.PresetNode(_preset),
                Options = System.Text.Json.Nodes.JsonNode.Parse("{\"validationFraction\":0.1,\"seed\":0}"),
            });

        var (exit, _, stderr) = CliRunner.Run("train-generator", "--run", _dir, "--epochs", "1", "--batch-size", "16",
            "--max-val-images", "32", "--seed", "1");
        Assert.True(exit == 0, stderr);
        AssertQuiet(stderr, "train-generator");

        (exit, _, stderr) = CliRunner.Run("generate", "--run", _dir, "--flops", "3");
        Assert.True(exit == 0, stderr);
        AssertQuiet(stderr, "generate");

        (exit, _, stderr) = CliRunner.Run("search", "--run", _dir, "--strategy", "random", "--flops", "4", "--evaluations", "2",
            "--recalibration-images", "32", "--val-images", "32");
        Assert.True(exit == 0, stderr);
        AssertQuiet(stderr, "search");
    }
}
