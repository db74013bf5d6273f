using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Training;

/// <summary>Options of <see cref="StepBenchmark"/>.</summary>
public sealed record StepBenchmarkOptions
{
    /// <summary>Workloads to time: any of child, path, fair, generator.</summary>
    public IReadOnlyList<string> Workloads { get; init; } = StepBenchmark.AllWorkloads;
    /// <summary>Architecture of the child and single-path steps (codec text); null: every layer e_max with the kernels cycling 3,5,7,...</summary>
    public string? Architecture { get; init; }
    /// <summary>The K paths of the fair step (codec text); null: the first step of the trainer's <see cref="FairPathSampler"/> for <see cref="Seed"/>.</summary>
    public IReadOnlyList<string>? FairPaths { get; init; }
    /// <summary>Images per step (random tensors).</summary>
    public int BatchSize { get; init; } = 128;
    /// <summary>Timed steps per workload (the fair step takes half as many, at least 2).</summary>
    public int Steps { get; init; } = 5;
    /// <summary>Untimed steps first.</summary>
    public int WarmupSteps { get; init; } = 2;
    /// <summary>Seed of weights, inputs and paths.</summary>
    public int Seed { get; init; }
    /// <summary>Device: cpu, cuda or cuda:N.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>libtorch intra-op threads (null keeps the current setting).</summary>
    public int? Threads { get; init; }
}

/// <summary>Median time of one step of one workload.</summary>
/// <param name="Name">child, path, fair or generator.</param>
/// <param name="WallMs">Median wall time per step.</param>
/// <param name="CpuMs">Median process CPU time per step.</param>
/// <param name="Steps">Timed steps.</param>
public sealed record StepTiming(string Name, double WallMs, double CpuMs, int Steps);

/// <summary>Result of <see cref="StepBenchmark.Run"/>.</summary>
/// <param name="Threads">libtorch intra-op threads.</param>
/// <param name="BatchSize">Images per step.</param>
/// <param name="Architecture">Architecture of the child and single-path steps.</param>
/// <param name="FairPaths">Paths of the fair step.</param>
/// <param name="Timings">One entry per workload, in the order run.</param>
public sealed record StepBenchmarkResult(int Threads, int BatchSize, string Architecture, IReadOnlyList<string> FairPaths, IReadOnlyList<StepTiming> Timings);

/// <summary>
/// Times the project's four training steps on random inputs, as the user-facing stages run them, for the
/// side-by-side comparison with the PyTorch twin in <c>bench/</c> (docs/performance.md):
/// <list type="bullet">
/// <item><c>child</c>: a standalone <see cref="ChildNetwork"/> step (forward, cross-entropy, backward, SGD momentum);</item>
/// <item><c>path</c>: a supernet single-path step (<see cref="SupernetTrainer"/>'s step with one path);</item>
/// <item><c>fair</c>: the full fair step (K paths, gradients summed, one SGD update);</item>
/// <item><c>generator</c>: the generator's relaxed step (G, Gumbel-softmax, Eq. 9 cost, frozen supernet under Eq. 2
/// weights, Eq. 10 loss, Adam on G), the body of <see cref="GeneratorTrainer"/>'s loop.</item>
/// </list>
/// </summary>
public static class StepBenchmark
{
    /// <summary>The workload names in their default order.</summary>
    public static readonly IReadOnlyList<string> AllWorkloads = new[] { "child", "path", "fair", "generator" };

    /// <summary>The default architecture: every layer at e_max with kernels cycling through the preset's kernels (3,5,7,3,5,7).</summary>
    public static Architecture DefaultArchitecture(SearchSpacePreset preset) =>
        new(Enumerable.Range(0, preset.LayerCount)
            .Select(_ => new LayerChoice(Enumerable.Range(0, preset.MaxExpansion).Select(j => preset.Kernels[j % preset.Kernels.Count]).ToArray()))
            .ToArray());

    /// <summary>Runs the selected workloads; <paramref name="log"/> receives progress lines.</summary>
    public static StepBenchmarkResult Run(SearchSpacePreset preset, StepBenchmarkOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(options);
        if (options.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 2.");
        if (options.Steps < 1) throw new ArgumentOutOfRangeException(nameof(options), options.Steps, "Steps must be at least 1.");
        foreach (var w in options.Workloads)
            if (!AllWorkloads.Contains(w))
                throw new ArgumentException($"Unknown workload '{w}'; expected any of {string.Join(", ", AllWorkloads)}.", nameof(options));
        var device = DeviceSelector.Resolve(options.Device);
        if (options.Threads is int threads)
        {
            if (threads < 1) throw new ArgumentOutOfRangeException(nameof(options), threads, "Threads must be at least 1.");
            torch.set_num_threads(threads);
        }
        var arch = options.Architecture is null ? DefaultArchitecture(preset) : ArchitectureCodec.Parse(options.Architecture, preset);
        arch.Validate(preset);
        var trainerOptions = new SupernetTrainerOptions { Device = options.Device, Seed = options.Seed };
        var fair = options.FairPaths is null
            ? new FairPathSampler(preset, options.Seed, trainerOptions.Sampling, trainerOptions.PathsPerStep).NextStep().ToArray()
            : options.FairPaths.Select(t => ArchitectureCodec.Parse(t, preset)).ToArray();
        torch.manual_seed(options.Seed);
        using var x = torch.randn(new long[] { options.BatchSize, preset.InputChannels, preset.InputSize, preset.InputSize }, device: device);
        using var y = torch.randint(0, preset.NumClasses, new long[] { options.BatchSize }, ScalarType.Int64, device: device);
        double lr = trainerOptions.LearningRate;
        var timings = new List<StepTiming>();

        if (options.Workloads.Contains("child"))
        {
            log?.Invoke("timing the standalone child step...");
            using var child = new ChildNetwork(preset, arch);
            child.to(device);
            child.train();
            using var opt = torch.optim.SGD(child.parameters(), lr, momentum: trainerOptions.Momentum, weight_decay: trainerOptions.WeightDecay);
            timings.Add(Timed("child", options.WarmupSteps, options.Steps, () =>
            {
                using var scope = torch.NewDisposeScope();
                child.zero_grad();
                var loss = F.cross_entropy(child.call(x), y);
                loss.backward();
                opt.step();
                _ = loss.item<float>();
            }));
        }

        bool needSupernet = options.Workloads.Any(w => w is "path" or "fair" or "generator");
        if (needSupernet)
        {
            using var net = new Supernet(preset);
            net.to(device);
            net.train();
            using var opt = SupernetTrainer.MakeOptimizer(net, trainerOptions);
            int step = 0;
            if (options.Workloads.Contains("path"))
            {
                log?.Invoke("timing the supernet single-path step...");
                var one = new[] { arch };
                timings.Add(Timed("path", options.WarmupSteps, options.Steps, () => SupernetTrainer.TrainStep(net, opt, x, y, one, lr, 0, 0, ++step)));
            }
            if (options.Workloads.Contains("fair"))
            {
                log?.Invoke($"timing the fair step ({fair.Length} paths)...");
                timings.Add(Timed("fair", options.WarmupSteps, Math.Max(2, options.Steps / 2), () => SupernetTrainer.TrainStep(net, opt, x, y, fair, lr, 0, 0, ++step)));
            }
            if (options.Workloads.Contains("generator"))
            {
                log?.Invoke("timing the generator's relaxed step...");
                timings.Add(GeneratorStep(preset, net, x, y, device, options));
            }
        }
        return new StepBenchmarkResult(torch.get_num_threads(), options.BatchSize, arch.ToString(), fair.Select(a => a.ToString()).ToArray(), timings);
    }

    // The body of GeneratorTrainer's step with its default options, on a frozen supernet in eval mode.
    private static StepTiming GeneratorStep(SearchSpacePreset preset, Supernet net, Tensor x, Tensor y, Device device, StepBenchmarkOptions options)
    {
        var o = new GeneratorOptions { Seed = options.Seed };
        var table = new FlopsLookupTable(preset);
        var (low, high) = table.ConstraintInterval();
        double width = high - low, lambda = o.ResolveCostWeight(width), margin = o.ResolveMarginM(width);
        var pool = PriorPool.Build(preset, low, high, o.PriorBuckets, o.Seed, o.PriorMaxTries);
        using var generator = ArchitectureGenerator.For(preset, o.ConstraintChannels, o.HiddenChannels, o.BodyLayers, o.Seed);
        generator.to(device);
        generator.train();
        var frozen = net.parameters().Select(p => (p, p.requires_grad)).ToList();
        net.eval();
        foreach (var (p, _) in frozen) p.requires_grad = false;
        using var optimizer = torch.optim.Adam(generator.parameters(), o.LearningRate, o.Beta1, o.Beta2, weight_decay: o.WeightDecay);
        using var noise = new torch.Generator((ulong)o.Seed + 1);
        using var mask = GumbelSoftmax.Mask(preset, device);
        var targets = new Random(o.Seed);
        try
        {
            return Timed("generator", options.WarmupSteps, options.Steps, () =>
            {
                using var scope = torch.NewDisposeScope();
                double target = low + targets.NextDouble() * width;
                var prior = pool.PriorBatch(new[] { target }, device);
                var c = torch.tensor(new[] { (float)ConstraintNormalization.Normalize(target, low, high) }, device: device);
                var alpha = generator.call(prior, c);
                var g = GumbelSoftmax.Noise(alpha.shape, noise, device);
                var m = GumbelSoftmax.Relax(alpha, o.InitialTemperature, mask, g, o.HardGumbel);
                var cost = table.CostM(m);
                var logits = net.ForwardRelaxed(x, m[0]);
                var ce = F.cross_entropy(logits, y);
                var (loss, _) = GeneratorLoss.Compute(ce, cost, torch.tensor(new[] { (float)target }, device: device), lambda, margin, o.OverBudgetPenalty);
                _ = loss.item<float>();
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
            });
        }
        finally
        {
            foreach (var (p, rg) in frozen) p.requires_grad = rg;
            net.train();
        }
    }

    private static StepTiming Timed(string name, int warmup, int steps, Action step)
    {
        for (int i = 0; i < warmup; i++) step();
        var wall = new List<double>();
        var cpu = new List<double>();
        using var process = Process.GetCurrentProcess();
        for (int i = 0; i < steps; i++)
        {
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            step();
            wall.Add(sw.Elapsed.TotalMilliseconds);
            process.Refresh();
            cpu.Add((process.TotalProcessorTime - cpu0).TotalMilliseconds);
        }
        return new StepTiming(name, Median(wall), Median(cpu), steps);
    }

    private static double Median(List<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}
