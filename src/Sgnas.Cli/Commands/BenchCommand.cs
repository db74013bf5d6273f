using System.CommandLine;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas bench</c>: supernet single-path step vs the same path as a standalone network, full fair step, and
/// native memory growth across steps.
/// </summary>
public sealed class BenchCommand : SgnasCommand
{
    private static readonly SupernetBenchmarkOptions Defaults = new();
    private static readonly StepBenchmarkOptions StepDefaults = new();

    // The options every mode reads, declared (and parsed) once; --steps has a default per mode.
    private readonly Option<string> _preset = CliOptions.Preset();
    private readonly Option<int> _batchSize = CliOptions.Int("--batch-size", "images per step", Defaults.BatchSize, min: 2);
    private readonly Option<int?> _steps = CliOptions.IntOrNull("--steps",
        $"timed steps of each kind (default {Defaults.Steps}; with --workloads {StepDefaults.Steps}; with --generation: calls, default {GenerationRepeats})", min: 1);
    private readonly Option<string> _device = CliOptions.Device(Defaults.Device);
    private readonly Option<int> _seed = CliOptions.Seed(Defaults.Seed);
    private readonly Option<int?> _threads = CliOptions.Threads();
    // Mode: the supernet-vs-child step (default), or one of these.
    private readonly Option<string?> _workloads = CliOptions.Text("--workloads", "instead: time the steps compared with PyTorch in bench/ (child,path,fair,generator)", "LIST");
    private readonly Option<string?> _arch = CliOptions.Text("--arch", "with --workloads: architecture of the child and single-path steps (default all e6 3,5,7,3,5,7)");
    private readonly Option<string?> _fairPaths = CliOptions.Text("--fair-paths", "with --workloads: ';'-separated paths of the fair step (default: the trainer's first draw)", "LIST");
    private readonly Option<int> _warmup = CliOptions.Int("--warmup", "with --workloads: untimed steps first", StepDefaults.WarmupSteps, min: 0);
    private readonly Option<string?> _generation = CliOptions.Text("--generation", "instead: time generating N budgets in process, e.g. 10,100,10000", "LIST");
    private readonly Option<int?> _candidates = CliOptions.IntOrNull("--candidates", "instead: time scoring N search candidates (BN recalibration + validation)", min: 1);
    private readonly Option<int> _recalibrationImages = CliOptions.Int("--recalibration-images", "with --candidates: BN recalibration images",
        Search.CandidateEvaluatorOptions.DefaultRecalibrationImages, min: 1);
    private readonly Option<int> _valImages = CliOptions.Int("--val-images", "with --candidates: validation images", Search.CandidateEvaluatorOptions.DefaultValidationImages, min: 1);
    private readonly Option<string?> _data = CliOptions.Data("with --candidates: the data scored (default Fashion-MNIST)");

    private readonly Option<int?> _hiddenChannels = CliOptions.IntOrNull("--hidden-channels",
        "with --generation: width of the generator's hidden convolutions (default the paper's 32)", min: 1);
    private const int GenerationRepeats = 7;

    public override string Name => "bench";
    public override string Summary => "Time a supernet training step against a standalone child network; report memory growth.";

    protected override int Run(ParseResult parse)
    {
        var preset = CliOptions.LoadPreset(parse, _preset);
        using var output = OpenOutput(parse);
        // Benchmarks take no cancellation token: Ctrl-C ends them at once (they write nothing).
        using var longRun = LongRun.Listen(Name, cancellable: false);
        if (parse.GetValue(_hiddenChannels) is not null && parse.GetValue(_generation) is null)
            throw new UsageException("--hidden-channels sets the generator timed by --generation; give --generation too.");
        if (parse.GetValue(_workloads) is string workloads) return RunSteps(parse, output, preset, workloads);
        if (parse.GetValue(_generation) is string budgets) return RunGeneration(parse, output, preset, budgets);
        if (parse.GetValue(_candidates) is int candidates) return RunCandidates(parse, output, preset, candidates);
        int steps = parse.GetValue(_steps) ?? Defaults.Steps;
        if (steps < 2) throw new UsageException($"--steps must be at least 2 for the supernet step (medians of two halves); got {steps}.");
        var options = new SupernetBenchmarkOptions
        {
            BatchSize = parse.GetValue(_batchSize),
            Steps = steps,
            Device = parse.GetValue(_device)!,
            Seed = parse.GetValue(_seed),
            Threads = parse.GetValue(_threads),
        };
        var r = SupernetBenchmark.Run(preset, options, output.Log);
        output.ResultTable(new
        {
            r.Preset, r.BatchSize, r.Steps, r.Threads, r.SupernetPathStepMs, r.ChildStepMs, r.Ratio,
            r.SupernetPathCpuMs, r.ChildCpuMs, r.CpuRatio, r.FairStepMs, r.FairStepCpuMs, r.PathsPerStep,
            r.MemorySteps, r.RssStartMb, r.RssMidMb, r.RssEndMb, r.RssGrowthSecondHalfMb,
        }, $"preset {r.Preset}, batch {r.BatchSize}, {r.Steps} steps each, {r.Threads} threads (medians)",
            ["step", "wall ms", "cpu ms"],
            [
                ["supernet single path (fwd+bwd+SGD)", $"{r.SupernetPathStepMs:F1}", $"{r.SupernetPathCpuMs:F1}"],
                ["same path as standalone ChildNetwork", $"{r.ChildStepMs:F1}", $"{r.ChildCpuMs:F1}"],
                ["ratio supernet / standalone", $"{r.Ratio:F3}", $"{r.CpuRatio:F3}"],
                [$"fair step ({r.PathsPerStep} paths, one SGD update)", $"{r.FairStepMs:F1}", $"{r.FairStepCpuMs:F1}"],
            ],
            $"RSS over {r.MemorySteps} fair steps: {r.RssStartMb:F1} MB -> {r.RssMidMb:F1} MB (after {r.MemorySteps / 2}) -> {r.RssEndMb:F1} MB " +
            $"(after {r.MemorySteps}); growth in the second half {r.RssGrowthSecondHalfMb:+0.0;-0.0} MB");
        return 0;
    }

    // The project's side of bench/run.sh: median step times of the workloads the PyTorch twin mirrors.
    private int RunSteps(ParseResult parse, Output output, SearchSpacePreset preset, string workloads)
    {
        var options = new StepBenchmarkOptions
        {
            Workloads = workloads.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Architecture = parse.GetValue(_arch),
            FairPaths = parse.GetValue(_fairPaths)?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            BatchSize = parse.GetValue(_batchSize),
            Steps = parse.GetValue(_steps) ?? StepDefaults.Steps,
            WarmupSteps = parse.GetValue(_warmup),
            Device = parse.GetValue(_device)!,
            Seed = parse.GetValue(_seed),
            Threads = parse.GetValue(_threads),
        };
        var r = StepBenchmark.Run(preset, options, output.Log);
        output.ResultTable(r, $"preset {preset.Name}, batch {r.BatchSize}, {r.Threads} threads (medians)", ["step", "wall ms", "cpu ms"],
            r.Timings.Select(t => new[] { t.Name, $"{t.WallMs:F1}", $"{t.CpuMs:F1}" }));
        return 0;
    }

    // In-process generation time for N budgets (issue 10's floor: forward pass, decoding, FLOPs, parameters).
    private int RunGeneration(ParseResult parse, Output output, SearchSpacePreset preset, string budgets)
    {
        int[] counts;
        try { counts = budgets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray(); }
        catch (FormatException) { throw new UsageException($"--generation expects comma-separated budget counts, e.g. 10,100,10000; got '{budgets}'."); }
        int repeats = parse.GetValue(_steps) ?? GenerationRepeats;
        var r = Training.GenerationBenchmark.Run(preset, counts, repeats, parse.GetValue(_threads), parse.GetValue(_seed), parse.GetValue(_hiddenChannels));
        output.ResultTable(r, $"preset {preset.Name}, {TorchSharp.torch.get_num_threads()} threads, hidden width {parse.GetValue(_hiddenChannels) ?? new Generation.GeneratorOptions().HiddenChannels}, " +
                              $"{repeats} calls after warm-up (median, best); calibration measured once in {(r.Count > 0 ? r[0].CalibrationMs : 0):F0} ms",
            ["budgets", "ms", "best", "us/budget", "after load best", "load best", "nothing known best", "grid inputs", "raw ms", "raw best", "forward best", "GMAC raw"],
            r.Select(t => new[]
            {
                $"{t.Budgets}", $"{t.TotalMs:F3}", $"{t.BestTotalMs:F3}", $"{1000 * t.BestTotalMs / t.Budgets:F2}", $"{t.BestColdMs:F3}", $"{t.BestLoadMs:F1}",
                $"{t.BestUnknownMs:F2}", $"{t.GridInputs}",
                $"{t.RawMs:F2}", $"{t.BestRawMs:F2}", $"{t.BestForwardMs:F2}", $"{t.Budgets * t.MacsPerBudgetM / 1000:F2}",
            }));
        return 0;
    }

    // Per-candidate cost of search scoring (issue 10: candidates per minute at a fixed validation size).
    private int RunCandidates(ParseResult parse, Output output, SearchSpacePreset preset, int candidates)
    {
        var options = new Search.CandidateEvaluatorOptions
        {
            RecalibrationImages = parse.GetValue(_recalibrationImages),
            ValidationImages = parse.GetValue(_valImages),
        };
        var data = Data.DatasetLoader.Load(parse.GetValue(_data), Data.DatasetSplit.Train, Data.CifarLabelKind.Fine, ImageFolderData.Shape(preset));
        var r = Training.CandidateBenchmark.Run(preset, data, candidates, options, parse.GetValue(_threads), parse.GetValue(_seed));
        output.Result(r, () =>
            $"preset {preset.Name}, {r.Threads} threads, {r.Candidates} candidates, {r.RecalibrationImages} recalibration + {r.ValidationImages} validation images\n" +
            $"per candidate (median): {r.WallMs:F0} ms wall, {r.CpuMs:F0} ms CPU; {r.CandidatesPerMinute:F1} candidates per minute");
        return 0;
    }
}
