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
        "  --json";

    private static readonly SupernetBenchmarkOptions Defaults = new();

    public int Run(Args args)
    {
        var preset = SearchSpacePreset.Load(args.String("preset", "fashion-small")!);
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
}
