using System.CommandLine;
using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Runtime;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas generate</c>: architectures for N FLOPs targets from one forward pass of a trained generator.</summary>
public sealed class GenerateCommand : SgnasCommand
{
    private readonly Option<string> _run = CliOptions.Run("run folder holding generator.json/.pt");
    private readonly Option<double[]?> _flops = CliOptions.Numbers("--flops", "FLOPs targets in M, e.g. 2.5,3,3.5 (or --budget-ms)");
    // The table is optional here: a generator trained for latency keeps its own (docs/latency.md); a given one must match it.
    private readonly LatencyBudgetOptions _latency = new(tableRequired: false);
    private readonly Option<bool> _hardLimit = CliOptions.Flag("--hard-limit", "repair architectures over their target until they fit");
    private readonly Option<bool> _raw = CliOptions.Flag("--raw",
        "run the generator at the budget itself instead of its calibrated input (docs/generator.md section 7)");
    private readonly Option<string> _device = CliOptions.Device();

    public override string Name => "generate";
    public override string Summary => "Generate architectures for FLOPs targets or latency budgets with a trained generator (one forward pass).";

    protected override int Run(ParseResult parse)
    {
        var run = new RunFolder(parse.GetValue(_run)!);
        var flops = parse.GetValue(_flops) is { Length: > 0 } f ? f : null;
        var latency = _latency.ReadAll(parse);
        if ((flops is null) == (latency is null))
            throw new UsageException("give FLOPs targets (--flops X,Y,... in M) or latency budgets (--budget-ms X,Y,... in ms), one of the two.");
        var kind = latency is null ? ConstraintKind.Flops : ConstraintKind.Latency;
        var targets = flops ?? latency!.Value.BudgetsMs;
        string unit = latency is null ? "M" : "ms";
        bool hard = parse.GetValue(_hardLimit), raw = parse.GetValue(_raw);
        string deviceName = parse.GetValue(_device)!;
        using var output = OpenOutput(parse);
        var device = DeviceSelector.Resolve(deviceName);
        using var model = ArchitectureGeneratorModel.Load(run, device, null, kind,
            latency?.TablePath is { } table ? LatencyTable.Load(table) : null);
        var clock = Stopwatch.StartNew();
        var generated = model.Generate(targets, hard, calibrated: !raw);
        output.Log($"generated {generated.Count} architecture(s) in {clock.Elapsed.TotalMilliseconds:F1} ms");
        object[] result = latency is null
            ? generated.Select(g => (object)new
            {
                targetFlopsM = g.TargetFlopsM,
                flopsM = g.FlopsM,
                paramsM = g.ParamsM,
                architecture = g.Architecture.ToString(),
                repaired = g.Repaired,
            }).ToArray()
            : generated.Select(g => (object)new
            {
                budgetMs = g.Target,
                predictedMs = g.Cost,
                flopsM = g.FlopsM,
                paramsM = g.ParamsM,
                architecture = g.Architecture.ToString(),
                repaired = g.Repaired,
            }).ToArray();
        output.ResultTable(result, $"{generated.Count} architecture(s) from the generator in {run.Root}",
            latency is null ? ["target M", "FLOPs M", "params M", "repaired", "architecture"]
                : ["budget ms", "predicted ms", "FLOPs M", "params M", "repaired", "architecture"],
            generated.Select(g => (latency is null ? new[] { $"{g.TargetFlopsM:F3}", $"{g.FlopsM:F3}" } : new[] { $"{g.Target:F4}", $"{g.Cost:F4}", $"{g.FlopsM:F3}" })
                .Concat(new[] { $"{g.ParamsM:F4}", g.Repaired ? "yes" : "", g.Architecture.ToString() }).ToArray()));
        return 0;
    }
}
