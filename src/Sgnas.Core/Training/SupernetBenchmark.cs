using System.Diagnostics;
using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Training;

/// <summary>Options of <see cref="SupernetBenchmark"/>.</summary>
public sealed record SupernetBenchmarkOptions
{
    /// <summary>Images per step (random tensors).</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Timed steps of each kind (the medians are over these).</summary>
    public int Steps { get; init; } = 20;
    /// <summary>Untimed steps first (allocator warm-up, momentum buffers).</summary>
    public int WarmupSteps { get; init; } = 3;
    /// <summary>Seed of weights, inputs and paths.</summary>
    public int Seed { get; init; } = 0;
    /// <summary>Device: cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>libtorch intra-op threads for the run (null keeps the current setting); 1 makes CPU time a clean measure of work.</summary>
    public int? Threads { get; init; }
}

/// <summary>Timings (milliseconds, medians) and memory growth measured by <see cref="SupernetBenchmark.Run"/>.</summary>
/// <param name="Preset">Preset name.</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="Steps">Timed steps of each kind.</param>
/// <param name="Threads">Intra-op threads of libtorch.</param>
/// <param name="SupernetPathStepMs">Median wall time of one supernet single-path step (forward, backward, SGD).</param>
/// <param name="ChildStepMs">Median wall time of the same step on the same path built as a standalone <see cref="ChildNetwork"/>.</param>
/// <param name="SupernetPathCpuMs">Median process CPU time of the supernet single-path step (robust to other load on the machine).</param>
/// <param name="ChildCpuMs">Median process CPU time of the standalone step.</param>
/// <param name="FairStepMs">Median wall time of one full training step (K single-path passes, one SGD update).</param>
/// <param name="FairStepCpuMs">Median process CPU time of the full training step.</param>
/// <param name="PathsPerStep">K of the fair step.</param>
/// <param name="RssStartMb">Resident set size after warm-up, before the memory run.</param>
/// <param name="RssMidMb">RSS after <see cref="MemorySteps"/>/2 fair steps.</param>
/// <param name="RssEndMb">RSS after <see cref="MemorySteps"/> fair steps.</param>
/// <param name="MemorySteps">Fair steps of the memory run (2N: RSS is read after N and 2N).</param>
public sealed record SupernetBenchmarkResult(string Preset, int BatchSize, int Steps, int Threads, double SupernetPathStepMs, double ChildStepMs,
    double SupernetPathCpuMs, double ChildCpuMs, double FairStepMs, double FairStepCpuMs, int PathsPerStep, double RssStartMb, double RssMidMb, double RssEndMb, int MemorySteps)
{
    /// <summary>Supernet single-path step wall time over standalone child step wall time (target ≤ 1.15).</summary>
    public double Ratio => SupernetPathStepMs / ChildStepMs;
    /// <summary>The same ratio in process CPU time.</summary>
    public double CpuRatio => SupernetPathCpuMs / ChildCpuMs;
    /// <summary>RSS growth over the second half of the memory run (a leak shows as steady growth here).</summary>
    public double RssGrowthSecondHalfMb => RssEndMb - RssMidMb;
}

/// <summary>
/// Measures the cost of training through the supernet: a single-path step against the same architecture built as a
/// standalone network (interleaved, so load on the machine affects both alike), the full fair step, and native
/// memory growth across steps (process RSS after N and 2N steps).
/// </summary>
public static class SupernetBenchmark
{
    /// <summary>Runs the benchmark on random inputs; <paramref name="log"/> receives progress lines.</summary>
    public static SupernetBenchmarkResult Run(SearchSpacePreset preset, SupernetBenchmarkOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 2.");
        if (options.Steps < 2) throw new ArgumentOutOfRangeException(nameof(options), options.Steps, "Steps must be at least 2.");
        var device = DeviceSelector.Resolve(options.Device);
        if (options.Threads is int threads)
        {
            if (threads < 1) throw new ArgumentOutOfRangeException(nameof(options), threads, "Threads must be at least 1.");
            torch.set_num_threads(threads);
        }
        var trainerOptions = new SupernetTrainerOptions { Device = options.Device, Seed = options.Seed };
        torch.manual_seed(options.Seed);
        using var net = new Supernet(preset);
        net.to(device);
        net.train();
        using var optimizer = SupernetTrainer.MakeOptimizer(net, trainerOptions);
        var sampler = new FairPathSampler(preset, options.Seed, trainerOptions.Sampling, trainerOptions.PathsPerStep);
        using var x = torch.randn(new long[] { options.BatchSize, preset.InputChannels, preset.InputSize, preset.InputSize }, device: device);
        using var y = torch.randint(0, preset.NumClasses, new long[] { options.BatchSize }, ScalarType.Int64, device: device);
        double lr = trainerOptions.LearningRate;

        for (int i = 0; i < options.WarmupSteps; i++) SupernetTrainer.TrainStep(net, optimizer, x, y, sampler.NextStep(), lr, 0, 0, i + 1);

        // Interleaved single-path steps: supernet, then the same path as a standalone network (alternating which goes
        // first), so both see the same machine load.
        log?.Invoke($"timing {options.Steps} single-path steps (supernet vs standalone child)...");
        var superMs = new List<double>();
        var childMs = new List<double>();
        var superCpu = new List<double>();
        var childCpu = new List<double>();
        for (int i = 0; i < options.Steps; i++)
        {
            var path = sampler.NextStep()[0];
            using var child = new ChildNetwork(preset, path.Canonical());
            child.to(device);
            child.train();
            using var childOpt = torch.optim.SGD(child.parameters(), lr, momentum: trainerOptions.Momentum, weight_decay: trainerOptions.WeightDecay);
            ChildStep(child, childOpt, x, y, lr); // untimed: first-step allocations of the new network
            var one = new[] { path };
            int stepNo = i + 1;
            void Super() { var (w, c) = Time(() => SupernetTrainer.TrainStep(net, optimizer, x, y, one, lr, 0, 0, stepNo)); superMs.Add(w); superCpu.Add(c); }
            void Child() { var (w, c) = Time(() => ChildStep(child, childOpt, x, y, lr)); childMs.Add(w); childCpu.Add(c); }
            if (i % 2 == 0) { Super(); Child(); }
            else { Child(); Super(); }
        }

        log?.Invoke($"timing {2 * options.Steps} fair steps ({sampler.PathsPerStep} paths each) and memory...");
        var fairMs = new List<double>();
        var fairCpu = new List<double>();
        int memorySteps = 2 * options.Steps;
        double rssStart = RssMb(), rssMid = 0;
        for (int i = 0; i < memorySteps; i++)
        {
            var paths = sampler.NextStep();
            int stepNo = i + 1;
            var (ms, cpu) = Time(() => SupernetTrainer.TrainStep(net, optimizer, x, y, paths, lr, 0, 0, stepNo));
            if (i < options.Steps) { fairMs.Add(ms); fairCpu.Add(cpu); }
            if (i == options.Steps - 1) rssMid = RssMb();
        }
        double rssEnd = RssMb();
        return new SupernetBenchmarkResult(preset.Name, options.BatchSize, options.Steps, torch.get_num_threads(), Median(superMs), Median(childMs),
            Median(superCpu), Median(childCpu), Median(fairMs), Median(fairCpu), sampler.PathsPerStep, rssStart, rssMid, rssEnd, memorySteps);
    }

    private static void ChildStep(ChildNetwork child, torch.optim.Optimizer optimizer, Tensor x, Tensor y, double lr)
    {
        using var scope = torch.NewDisposeScope();
        child.zero_grad();
        var loss = F.cross_entropy(child.call(x), y);
        loss.backward();
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
        optimizer.step();
        _ = loss.item<float>();
    }

    private static (double WallMs, double CpuMs) Time(Action step)
    {
        using var process = Process.GetCurrentProcess();
        var cpu0 = process.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        step();
        double wall = sw.Elapsed.TotalMilliseconds;
        process.Refresh();
        return (wall, (process.TotalProcessorTime - cpu0).TotalMilliseconds);
    }

    private static double Median(List<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    /// <summary>
    /// Resident set size in MB: /proc/self/statm (resident pages × page size) where it exists, else the working set.
    /// Managed garbage is collected first so that finalizer-held tensors do not count as growth.
    /// </summary>
    public static double RssMb()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        const string statm = "/proc/self/statm";
        if (File.Exists(statm))
        {
            var parts = File.ReadAllText(statm).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length > 1 && long.TryParse(parts[1], out long pages))
                return pages * (double)Environment.SystemPageSize / (1024 * 1024);
        }
        return Environment.WorkingSet / (1024.0 * 1024.0);
    }
}
