using System.Diagnostics;
using System.Text.Json;
using Sgnas.IO;
using static TorchSharp.torch;

namespace Sgnas.Cli.Tests;

/// <summary>
/// The same sgnas command run under <c>mpirun -np 2</c> (docs/distributed.md §6). Category Mpi: scripts/test.sh runs
/// these in their own step, after scripts/setup.sh installed Open MPI.
/// </summary>
[Trait("Category", "Mpi")]
public sealed class MpiTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-mpi-").FullName;

    public MpiTests()
    {
        File.WriteAllText(Preset, """
            { "name": "tiny28", "inputChannels": 1, "inputSize": 28, "numClasses": 10, "stemChannels": 4, "stemStride": 2,
              "firstBlockChannels": 4, "layers": [ {"outChannels": 8, "stride": 2}, {"outChannels": 8, "stride": 1} ],
              "headChannels": 16, "mean": [0.286], "std": [0.353] }
            """);
        TinyIdx.WriteTrain(_dir, 400, size: 28, classes: 10);
    }

    private string Preset => Path.Combine(_dir, "tiny28.json");

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private string[] Train(string run, int epochs) =>
        ["train-supernet", "--preset", Preset, "--data", _dir, "--epochs", epochs.ToString(), "--max-train-images", "256",
         "--batch-size", "32", "--threads", "1", "--out", run, "--json"];

    /// <summary>Starts <c>mpirun -np N … dotnet sgnas.dll args</c> (N = 0: no mpirun).</summary>
    private static Process Start(int ranks, IReadOnlyDictionary<string, string>? env, string[] args)
    {
        var psi = new ProcessStartInfo(ranks > 0 ? "mpirun" : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (ranks > 0)
        {
            foreach (var a in new[] { "-np", ranks.ToString(), "--oversubscribe", "--allow-run-as-root" }) psi.ArgumentList.Add(a);
            foreach (var (k, v) in env ?? new Dictionary<string, string>()) { psi.ArgumentList.Add("-x"); psi.ArgumentList.Add($"{k}={v}"); }
            psi.ArgumentList.Add("dotnet");
        }
        psi.Environment["SGNAS_THREADS_PER_RANK"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        psi.ArgumentList.Add(CliRunner.SgnasDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        try { return Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("mpirun not found: install Open MPI (bash scripts/setup.sh does: apt-get install openmpi-bin libopenmpi-dev).", e);
        }
    }

    private static (int Exit, string Stdout, string Stderr) Run(int ranks, string[] args, IReadOnlyDictionary<string, string>? env = null)
    {
        using var p = Start(ranks, env, args);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException($"mpirun -np {ranks} sgnas {string.Join(' ', args)} did not finish."); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static Dictionary<string, float[]> Weights(string run)
    {
        var (net, _) = SupernetCheckpoint.Load(new RunFolder(run), CPU);
        using (net)
            return net.state_dict().Where(kv => kv.Value.is_floating_point())
                .ToDictionary(kv => kv.Key, kv => kv.Value.to(ScalarType.Float32).data<float>().ToArray());
    }

    [Fact]
    public void TwoRanksAtGlobalBatchBReachTheWeightsOfOneProcessWithSynchronisedBatchNorm()
    {
        string one = Path.Combine(_dir, "one"), two = Path.Combine(_dir, "two"), perRank = Path.Combine(_dir, "per-rank");
        // NCHW on every side: this checks that synchronisation is exact to float rounding, and channels-last batch
        // norm (the default) accumulates its statistics in float32, so the one-process run would differ from the
        // synchronised BN's float sums by ~7e-4 after the epoch (docs/performance.md, "Channels-last and batch-norm
        // precision") and hide a real synchronisation error of that size.
        var nchw = new Dictionary<string, string> { ["SGNAS_CHANNELS_LAST"] = "0" };
        var single = Run(0, Train(one, 1), nchw);
        Assert.True(single.Exit == 0, single.Stderr);
        var sync = Run(2, Train(two, 1), new Dictionary<string, string>(nchw) { ["SGNAS_SYNC_BN"] = "1" });
        Assert.True(sync.Exit == 0, sync.Stderr);
        var local = Run(2, Train(perRank, 1), nchw);
        Assert.True(local.Exit == 0, local.Stderr);

        var (a, b, c) = (Weights(one), Weights(two), Weights(perRank));
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        double syncDiff = a.Keys.Max(k => a[k].Zip(b[k], (x, y) => Math.Abs(x - y)).DefaultIfEmpty(0).Max());
        double localDiff = a.Keys.Max(k => a[k].Zip(c[k], (x, y) => Math.Abs(x - y)).DefaultIfEmpty(0).Max());
        // 7 steps of SGD: float32 sums in a different order differ by ~1e-7 relative per step.
        Assert.True(syncDiff < 1e-4, $"max |w1 − w2| = {syncDiff} after one epoch");
        // Per-rank BN normalises each half batch by its own statistics: the control must differ, or the test proves nothing.
        Assert.True(localDiff > 10 * syncDiff && localDiff > 1e-5, $"per-rank BN differs by only {localDiff} (sync {syncDiff})");
        // Rank 0 alone wrote; rank 1 took its own lock file beside it.
        Assert.True(File.Exists(Path.Combine(two, "supernet.pt")));
    }

    [Fact]
    public void DistributedRandomSearchReturnsExactlyTheSingleProcessResult()
    {
        string run = Path.Combine(_dir, "run");
        Assert.Equal(0, Run(0, Train(run, 1)).Exit);
        string[] search = ["search", "--run", run, "--dataset", _dir, "--strategy", "random", "--flops", "1000", "--evaluations", "7",
            "--recalibration-images", "32", "--val-images", "48", "--json"];
        var single = Run(1, search);
        Assert.True(single.Exit == 0, single.Stderr);
        var two = Run(2, search);
        Assert.True(two.Exit == 0, two.Stderr);
        Assert.Equal(Result(single.Stdout), Result(two.Stdout));
    }

    /// <summary>The search output without timings: architectures, FLOPs, scores of the best and of every trial.</summary>
    private static string Result(string json)
    {
        // .NET may write terminal set-up sequences before the JSON when mpirun gives rank 0 a pseudo-terminal.
        int start = json.IndexOf('{');
        Assert.True(start >= 0, json);
        using var doc = JsonDocument.Parse(json[start..]);
        var lines = new List<string>();
        void Walk(JsonElement e, string path)
        {
            switch (e.ValueKind)
            {
                case JsonValueKind.Object: foreach (var p in e.EnumerateObject()) Walk(p.Value, $"{path}.{p.Name}"); break;
                case JsonValueKind.Array: int i = 0; foreach (var x in e.EnumerateArray()) Walk(x, $"{path}[{i++}]"); break;
                default:
                    if (!path.Contains("econds", StringComparison.OrdinalIgnoreCase) && !path.Contains("time", StringComparison.OrdinalIgnoreCase)
                        && !path.Contains("evaluated", StringComparison.OrdinalIgnoreCase))
                        lines.Add($"{path}={e}");
                    break;
            }
        }
        Walk(doc.RootElement, "");
        Assert.Contains(lines, l => l.Contains("alTop1", StringComparison.Ordinal));
        return string.Join('\n', lines);
    }

    private static double MaxDiff(IReadOnlyDictionary<string, TorchSharp.torch.Tensor> a, IReadOnlyDictionary<string, TorchSharp.torch.Tensor> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        return a.Where(kv => kv.Value.is_floating_point())
            .Max(kv => kv.Value.to(ScalarType.Float64).sub(b[kv.Key].to(ScalarType.Float64)).abs().max().item<double>());
    }

    [Fact]
    public void TwoRanksTrainTheGeneratorAsOneProcess()
    {
        string one = Path.Combine(_dir, "gen-one"), two = Path.Combine(_dir, "gen-two");
        var trained = Run(0, Train(one, 1));
        Assert.True(trained.Exit == 0, trained.Stderr);
        CopyFolder(one, two);
        // Global batches of 16 and 11 (27 validation images) are split 8/8 and 6/5. The frozen supernet runs in eval
        // mode (BN on running statistics), so per-rank BN is already exact here and the shards' weights n_r/B carry
        // the uneven last batch.
        string[] Gen(string run) => ["train-generator", "--run", run, "--data", _dir, "--epochs", "1", "--batch-size", "16", "--json"];
        var single = Run(0, Gen(one));
        Assert.True(single.Exit == 0, single.Stderr);
        var pair = Run(2, Gen(two));
        Assert.True(pair.Exit == 0, pair.Stderr);
        using var a = Sgnas.Generation.ArchitectureGeneratorModel.Load(new RunFolder(one), CPU);
        using var b = Sgnas.Generation.ArchitectureGeneratorModel.Load(new RunFolder(two), CPU);
        // Adam's first steps are close to lr·sign(g): a gradient within float noise of zero may flip and move its weight
        // by ~2·lr, so count the weights that differ instead of taking the largest difference. Without the gradient
        // all-reduce each rank steps on its own half batch and nearly every weight differs by ~lr.
        var (wa, wb) = (a.Generator.state_dict(), b.Generator.state_dict());
        Assert.Equal(wa.Keys.Order(), wb.Keys.Order());
        long total = 0, differ = 0;
        foreach (var (k, t) in wa.Where(kv => kv.Value.is_floating_point()))
        {
            total += t.numel();
            differ += t.to(ScalarType.Float64).sub(wb[k].to(ScalarType.Float64)).abs().gt(1e-5).sum().item<long>();
        }
        Assert.True(differ <= total / 100, $"{differ} of {total} generator weights differ by more than 1e-5 between 1 process and 2 ranks");
    }

    [Fact]
    public void TwoRanksRetrainAsOneProcessWithSynchronisedBatchNorm()
    {
        string one = Path.Combine(_dir, "re-one"), two = Path.Combine(_dir, "re-two");
        string[] Retrain(string run) => ["retrain", "--preset", Preset, "--data", _dir, "--arch", "e3:3,5,7|e2:3,5", "--epochs", "1", "--max-train-images", "128",
            "--batch-size", "32", "--val-fraction", "0", "--augment", "none", "--optimizer", "sgd", "--threads", "1", "--out", run, "--json"];
        var single = Run(0, Retrain(one));
        Assert.True(single.Exit == 0, single.Stderr);
        var pair = Run(2, Retrain(two), new Dictionary<string, string> { ["SGNAS_SYNC_BN"] = "1" });
        Assert.True(pair.Exit == 0, pair.Stderr);
        var (a, _) = Sgnas.Training.ArchitectureRetrainer.LoadNetwork(new RetrainFolder(one), best: false);
        var (b, _) = Sgnas.Training.ArchitectureRetrainer.LoadNetwork(new RetrainFolder(two), best: false);
        using (a)
        using (b)
        {
            double diff = MaxDiff(a.state_dict(), b.state_dict());
            Assert.True(diff < 1e-4, $"max |w1 − w2| of the retrained network = {diff}");
        }
    }

    private static void CopyFolder(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var f in Directory.GetFiles(from))
            if (!Path.GetFileName(f).StartsWith(".sgnas.lock", StringComparison.Ordinal)) File.Copy(f, Path.Combine(to, Path.GetFileName(f)));
    }

    private const int Epochs = 12;

    [Fact]
    public async Task KillingOneRankEndsTheJobWithAClearErrorAndAUsableLastCheckpoint()
    {
        string run = Path.Combine(_dir, "killed");
        using var job = Start(2, null, Train(run, Epochs));
        var stderr = job.StandardError.ReadToEndAsync();
        var stdout = job.StandardOutput.ReadToEndAsync();
        string pidFile = Path.Combine(run, RunLock.FileName + ".rank1.pid");
        var clock = Stopwatch.StartNew();
        // Wait for a checkpoint after epoch 1 (the epoch-0 one is written before training).
        while (clock.Elapsed < TimeSpan.FromMinutes(2) && !(File.Exists(pidFile) && EpochOf(run) >= 1)) await Task.Delay(100);
        Assert.True(EpochOf(run) >= 1 && File.Exists(pidFile), "the job did not reach epoch 1 in time");
        int pid = int.Parse(File.ReadAllText(pidFile).Split(' ')[0]);
        Process.GetProcessById(pid).Kill();
        Assert.True(job.WaitForExit(TimeSpan.FromMinutes(1)), "the job did not end after one rank was killed");
        Assert.NotEqual(0, job.ExitCode);
        string err = await stderr + await stdout;
        Assert.Matches("(?s)rank 1.*(signal 9|Killed|exited)", err);

        // The last checkpoint is usable: a single process resumes it (another number of ranks) to the end.
        int before = EpochOf(run);
        Assert.InRange(before, 1, Epochs - 1);
        var resumed = Run(0, ["train-supernet", "--out", run, "--resume", "--threads", "1", "--json"]);
        Assert.True(resumed.Exit == 0, resumed.Stderr);
        Assert.Equal(Epochs, EpochOf(run));
    }

    private static int EpochOf(string run)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "supernet.json")));
            return doc.RootElement.GetProperty("epoch").GetInt32();
        }
        catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException) { return -1; }
    }
}
