using System.Diagnostics;
using System.Text.Json.Nodes;
using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;

namespace Sgnas.Cli.Tests;

/// <summary>Issue 13 cases 4-7 through the real CLI in a second process: one writer, no silent overwrite, Ctrl-C.</summary>
public sealed class ReliabilityCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-cli-rel-").FullName;
    private readonly SearchSpacePreset _preset = new()
    {
        Name = "tiny-rel", InputChannels = 1, InputSize = 8, NumClasses = 10, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
    };

    public ReliabilityCommandTests()
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        torch.manual_seed(0);
        using var net = new Supernet(_preset);
        SupernetCheckpoint.Save(new RunFolder(_dir), net, new SupernetCheckpointInfo
        {
            Preset = SupernetCheckpoint.PresetNode(_preset),
            Options = JsonNode.Parse("""{"validationFraction": 0.25, "seed": 0}"""),
        });
        TinyIdx.WriteTrain(_dir, 96);
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private RunFolder Run => new(_dir);

    [Fact]
    public void ASecondWriterIsRefusedAtOnceWithTheHoldersProcessId()
    {
        using (RunLock.Acquire(_dir, "test"))
        {
            var clock = Stopwatch.StartNew();
            var (exit, _, stderr) = CliRunner.Run("train-generator", "--run", _dir, "--data", _dir, "--epochs", "1");
            Assert.Equal(1, exit);
            Assert.Contains($"in use by process {Environment.ProcessId} (test)", stderr);
            Assert.False(File.Exists(Run.GeneratorMeta));

            var (exit2, _, stderr2) = CliRunner.Run("train-supernet", "--out", _dir, "--resume");
            Assert.Equal(1, exit2);
            Assert.Contains($"in use by process {Environment.ProcessId}", stderr2);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60), "the refusal should come before any compute");
        }
        // Released: the lock file left behind does not block the next writer.
        using var again = RunLock.Acquire(_dir, "test");
    }

    [Fact]
    public void TrainGeneratorRefusesToReplaceAGeneratorUnlessForcedAndThenMovesDependentsAside()
    {
        var run = Run;
        var table = new FlopsLookupTable(_preset);
        var (low, high) = table.ConstraintInterval();
        using (var model = new ArchitectureGeneratorModel(_preset, ArchitectureGenerator.For(_preset, seed: 1),
                   PriorPool.Build(_preset, low, high, 3, 1), low, high, new GeneratorOptions(), 5.0, null, torch.CPU))
            model.Save(run);
        byte[] before = File.ReadAllBytes(run.GeneratorWeights);
        File.WriteAllText(run.MlNetModel, "zip");
        File.WriteAllText(run.DemoSummary, "{}");

        var args = new[] { "train-generator", "--run", _dir, "--data", _dir, "--epochs", "1", "--batch-size", "8", "--max-val-images", "16" };
        var (exit, _, stderr) = CliRunner.Run(args);
        Assert.Equal(1, exit);
        Assert.Contains("already holds a trained generator", stderr);
        Assert.Contains("--force", stderr);
        Assert.Equal(before, File.ReadAllBytes(run.GeneratorWeights));
        Assert.True(File.Exists(run.MlNetModel));

        var (exit2, stdout2, stderr2) = CliRunner.Run([.. args, "--force"]);
        Assert.True(exit2 == 0, stderr2);
        Assert.NotEqual(before, File.ReadAllBytes(run.GeneratorWeights));
        Assert.False(File.Exists(run.MlNetModel));
        Assert.False(File.Exists(run.DemoSummary));
        var stale = Assert.Single(Directory.GetDirectories(_dir, "stale-*"));
        Assert.True(File.Exists(Path.Combine(stale, "model.zip")) && File.Exists(Path.Combine(stale, "demo.json")) && File.Exists(Path.Combine(stale, "generator.pt")));
        Assert.Contains(stale, stdout2); // the command says where they went

        // Resume of a finished training gives the same generator again.
        byte[] trained = File.ReadAllBytes(run.GeneratorWeights);
        var (exit3, _, stderr3) = CliRunner.Run([.. args, "--resume"]);
        Assert.True(exit3 == 0, stderr3);
        Assert.Equal(trained, File.ReadAllBytes(run.GeneratorWeights));
    }

    [Fact]
    public void AnUnwritableFolderFailsBeforeAnyCompute()
    {
        // A run folder below a regular file can never be created (chmod does not stop root, who runs CI here).
        string blocker = Path.Combine(_dir, "blocker");
        File.WriteAllText(blocker, "");
        string outDir = Path.Combine(blocker, "run");
        var (exit, _, stderr) = CliRunner.Run("train-supernet", "--out", outDir, "--data", _dir, "--preset", "fashion-small");
        Assert.Equal(1, exit);
        Assert.Contains("not writable", stderr);
        Assert.Contains("nothing was computed", stderr);
    }

    [Fact]
    public void CtrlCStopsAnEvolutionSearchWithExitCode130AndPlainProgressLines()
    {
        var (exit, _, all) = CliRunner.Interrupt(line => line.StartsWith("[evolution", StringComparison.Ordinal), "plain progress line",
            "search", "--run", _dir, "--dataset", _dir, "--strategy", "evolution",
            "--flops", new FlopsLookupTable(_preset).Range().Max.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
            "--population", "8", "--iterations", "100000", "--top-k", "2", "--recalibration-images", "16", "--val-images", "16");
        Assert.Equal(130, exit);
        Assert.Contains("sgnas search: cancelled;", all);
        Assert.Contains("continue with the same command and --resume", all);
        Assert.DoesNotContain("   at ", all);
        // What it scored is kept: the Core journal of the interrupted search reads back.
        var journal = Directory.GetFiles(Path.Combine(_dir, "search", "journal"), "evolution_*.jsonl").Single();
        Assert.True(new Sgnas.Search.CandidateJournal(journal, _preset).Count >= 1);
    }

    [Fact]
    public void CompareJournalsEveryScoredCandidateAndResumeReadsThemBack()
    {
        var (min, max) = new FlopsLookupTable(_preset).Range();
        string T(double share) => (min + share * (max - min)).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
        string outDir = Path.Combine(_dir, "cmp");
        string[] Args(string flops) => ["compare", "--run", _dir, "--dataset", _dir, "--flops", flops, "--evaluations", "2", "--population", "2",
            "--iterations", "1", "--top-k", "1", "--random-points", "2", "--recalibration-images", "16", "--val-images", "16", "--out", outDir];

        var (exit, stdout1, stderr) = CliRunner.Run([.. Args(T(0.4)), "--json"]);
        Assert.True(exit == 0, stderr);
        string journal = Path.Combine(outDir, "journal");
        var first = Directory.GetFiles(journal, "*.jsonl").Order().ToArray();
        Assert.Equal(2, first.Length); // Core CandidateJournals of random and evolution for one target
        var before = first.ToDictionary(f => f, File.ReadAllText);
        Assert.All(before.Values, text => Assert.NotEmpty(text));

        // Without --resume the kept searches are not silently replaced.
        var (exit2, _, stderr2) = CliRunner.Run(Args($"{T(0.4)},{T(0.8)}"));
        Assert.Equal(1, exit2);
        Assert.Contains("pass --resume", stderr2);

        // With --resume the journaled target is read back (nothing scored again: its journals are unchanged) and
        // gives the same picks; only the new target is searched.
        var (exit3, stdout3, stderr3) = CliRunner.Run([.. Args($"{T(0.4)},{T(0.8)}"), "--resume", "--json"]);
        Assert.True(exit3 == 0, stderr3);
        Assert.Contains("scored candidates read back", stderr3);
        Assert.Equal(4, Directory.GetFiles(journal, "*.jsonl").Length);
        foreach (var (f, text) in before) Assert.Equal(text, File.ReadAllText(f));
        string Picks(string json, double target) => string.Join(";", System.Text.Json.Nodes.JsonNode.Parse(json)!["results"]!.AsArray()
            .Where(r => r!["strategy"]!.GetValue<string>() is "random" or "evolution" && Math.Abs(r["targetFlopsM"]!.GetValue<double>() - target) < 1e-9)
            .Select(r => $"{r!["strategy"]} {r["architecture"]} {r["valTop1"]!.GetValue<double>():R}"));
        double t04 = min + 0.4 * (max - min);
        Assert.NotEmpty(Picks(stdout1, t04));
        Assert.Equal(Picks(stdout1, t04), Picks(stdout3, t04));

        // Other options than the journaled searches: refused, not mixed.
        var (exit4, _, stderr4) = CliRunner.Run([.. Args(T(0.4)).Select(a => a == "16" ? "24" : a), "--resume"]);
        Assert.Equal(1, exit4);
        Assert.Contains("other options", stderr4);
    }
}
