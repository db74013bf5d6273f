using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas bench</c>: supernet single-path step vs the same path as a standalone network, full fair step, and
/// native memory growth across steps.
/// </summary>
public sealed class BenchCommand : ICommand
{
    public string Name => "bench";
    public string Summary => "Time a supernet training step against a standalone child network; report memory growth.";
    public string Usage =>
        "  --preset NAME|FILE   (default fashion-small)\n" +
        $"  --batch-size N       images per step (default {Defaults.BatchSize})\n" +
        $"  --steps N            timed steps of each kind (default {Defaults.Steps})\n" +
        "  --device D           cpu, cuda, cuda:N (default cpu)\n" +
        $"  --seed N             (default {Defaults.Seed})\n" +
        "  --threads N          libtorch intra-op threads (default: libtorch's choice)\n" +
        "  --workloads LIST     instead: time the steps compared with PyTorch in bench/ (child,path,fair,generator)\n" +
        "  --arch TEXT          with --workloads: architecture of the child and single-path steps (default all e6 3,5,7,3,5,7)\n" +
        "  --fair-paths LIST    with --workloads: ';'-separated paths of the fair step (default: the trainer's first draw)\n" +
        "  --warmup N           with --workloads: untimed steps first (default 2)\n" +
        "  --generation LIST    instead: time generating N budgets in process, e.g. 10,100,10000\n" +
        "  --candidates N       instead: time scoring N search candidates (BN recalibration + validation, Fashion-MNIST)\n" +
        $"  --recalibration-images N, --val-images N   with --candidates (defaults {Search.CandidateEvaluatorOptions.DefaultRecalibrationImages}, {Search.CandidateEvaluatorOptions.DefaultValidationImages})\n" +
        "  --json";

    private static readonly SupernetBenchmarkOptions Defaults = new();

    public int Run(Args args)
    {
        var preset = SearchSpacePreset.Load(args.String("preset", "fashion-small")!);
        if (args.String("workloads") is string workloads) return RunSteps(args, preset, workloads);
        if (args.String("generation") is string budgets) return RunGeneration(args, preset, budgets);
        if (args.String("candidates") is not null) return RunCandidates(args, preset);
        var options = new SupernetBenchmarkOptions
        {
            BatchSize = args.Int("batch-size", Defaults.BatchSize, min: 2),
            Steps = args.Int("steps", Defaults.Steps, min: 2),
            Device = args.String("device", Defaults.Device)!,
            Seed = args.Int("seed", Defaults.Seed),
            Threads = args.String("threads") is null ? null : args.Int("threads", 1, min: 1),
        };
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        var r = SupernetBenchmark.Run(preset, options, output.Log);
        output.Result(new
        {
            r.Preset, r.BatchSize, r.Steps, r.Threads, r.SupernetPathStepMs, r.ChildStepMs, r.Ratio,
            r.SupernetPathCpuMs, r.ChildCpuMs, r.CpuRatio, r.FairStepMs, r.FairStepCpuMs, r.PathsPerStep,
            r.MemorySteps, r.RssStartMb, r.RssMidMb, r.RssEndMb, r.RssGrowthSecondHalfMb,
        }, () => string.Join('\n',
            $"preset {r.Preset}, batch {r.BatchSize}, {r.Steps} steps each, {r.Threads} threads (medians)",
            $"{"step",-44} {"wall ms",9} {"cpu ms",9}",
            $"{"supernet single path (fwd+bwd+SGD)",-44} {r.SupernetPathStepMs,9:F1} {r.SupernetPathCpuMs,9:F1}",
            $"{"same path as standalone ChildNetwork",-44} {r.ChildStepMs,9:F1} {r.ChildCpuMs,9:F1}",
            $"{"ratio supernet / standalone",-44} {r.Ratio,9:F3} {r.CpuRatio,9:F3}",
            $"{$"fair step ({r.PathsPerStep} paths, one SGD update)",-44} {r.FairStepMs,9:F1} {r.FairStepCpuMs,9:F1}",
            $"RSS over {r.MemorySteps} fair steps: {r.RssStartMb:F1} MB -> {r.RssMidMb:F1} MB (after {r.MemorySteps / 2}) -> {r.RssEndMb:F1} MB " +
            $"(after {r.MemorySteps}); growth in the second half {r.RssGrowthSecondHalfMb:+0.0;-0.0} MB"));
        return 0;
    }

    // The project's side of bench/run.sh: median step times of the workloads the PyTorch twin mirrors.
    private int RunSteps(Args args, SearchSpacePreset preset, string workloads)
    {
        var d = new StepBenchmarkOptions();
        var options = new StepBenchmarkOptions
        {
            Workloads = workloads.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Architecture = args.String("arch"),
            FairPaths = args.String("fair-paths")?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            BatchSize = args.Int("batch-size", d.BatchSize, min: 2),
            Steps = args.Int("steps", d.Steps, min: 1),
            WarmupSteps = args.Int("warmup", d.WarmupSteps, min: 0),
            Device = args.String("device", d.Device)!,
            Seed = args.Int("seed", d.Seed),
            Threads = args.String("threads") is null ? null : args.Int("threads", 1, min: 1),
        };
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        var r = StepBenchmark.Run(preset, options, output.Log);
        output.Result(r, () => string.Join('\n', new[]
            {
                $"preset {preset.Name}, batch {r.BatchSize}, {r.Threads} threads (medians)",
                $"{"step",-12} {"wall ms",9} {"cpu ms",9}",
            }.Concat(r.Timings.Select(t => $"{t.Name,-12} {t.WallMs,9:F1} {t.CpuMs,9:F1}"))));
        return 0;
    }

    // In-process generation time for N budgets (issue 10's floor: forward pass, decoding, FLOPs, parameters).
    private int RunGeneration(Args args, SearchSpacePreset preset, string budgets)
    {
        int[] counts;
        try { counts = budgets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray(); }
        catch (FormatException) { throw new UsageException($"--generation expects comma-separated budget counts, e.g. 10,100,10000; got '{budgets}'."); }
        int repeats = args.Int("steps", 7, min: 1);
        int? threads = args.String("threads") is null ? null : args.Int("threads", 1, min: 1);
        int seed = args.Int("seed", 0);
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        var r = Training.GenerationBenchmark.Run(preset, counts, repeats, threads, seed);
        output.Result(r, () => string.Join('\n', new[]
            {
                $"preset {preset.Name}, {TorchSharp.torch.get_num_threads()} threads, {repeats} calls after warm-up (median, best)",
                $"{"budgets",8} {"total ms",10} {"best",9} {"forward ms",11} {"best",9} {"us/budget",10} {"GMAC",8}",
            }.Concat(r.Select(t => $"{t.Budgets,8} {t.TotalMs,10:F2} {t.BestTotalMs,9:F2} {t.ForwardMs,11:F2} {t.BestForwardMs,9:F2} " +
                                   $"{1000 * t.BestTotalMs / t.Budgets,10:F1} {t.Budgets * t.MacsPerBudgetM / 1000,8:F2}"))));
        return 0;
    }

    // Per-candidate cost of search scoring (issue 10: candidates per minute at a fixed validation size).
    private int RunCandidates(Args args, SearchSpacePreset preset)
    {
        int candidates = args.Int("candidates", 5, min: 1);
        var options = new Search.CandidateEvaluatorOptions
        {
            RecalibrationImages = args.Int("recalibration-images", Search.CandidateEvaluatorOptions.DefaultRecalibrationImages, min: 1),
            ValidationImages = args.Int("val-images", Search.CandidateEvaluatorOptions.DefaultValidationImages, min: 1),
        };
        int? threads = args.String("threads") is null ? null : args.Int("threads", 1, min: 1);
        int seed = args.Int("seed", 0);
        var dataPath = args.String("data");
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        var data = Data.DatasetLoader.Load(dataPath);
        var r = Training.CandidateBenchmark.Run(preset, data, candidates, options, threads, seed);
        output.Result(r, () =>
            $"preset {preset.Name}, {r.Threads} threads, {r.Candidates} candidates, {r.RecalibrationImages} recalibration + {r.ValidationImages} validation images\n" +
            $"per candidate (median): {r.WallMs:F0} ms wall, {r.CpuMs:F0} ms CPU; {r.CandidatesPerMinute:F1} candidates per minute");
        return 0;
    }
}
