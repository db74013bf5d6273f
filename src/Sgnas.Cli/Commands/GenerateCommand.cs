using System.CommandLine;
using System.Diagnostics;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Runtime;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas generate</c>: architectures for N FLOPs targets from one forward pass of a trained generator.</summary>
public sealed class GenerateCommand : SgnasCommand
{
    private readonly Option<string> _run = CliOptions.Run("run folder holding generator.json/.pt");
    private readonly Option<double[]?> _flops = CliOptions.Numbers("--flops", "FLOPs targets in M, e.g. 2.5,3,3.5", required: true);
    private readonly Option<bool> _hardLimit = CliOptions.Flag("--hard-limit", "repair architectures over their target until they fit");
    private readonly Option<string> _device = CliOptions.Device();

    public override string Name => "generate";
    public override string Summary => "Generate architectures for FLOPs targets with a trained generator (one forward pass).";

    protected override int Run(ParseResult parse)
    {
        var run = new RunFolder(parse.GetValue(_run)!);
        var targets = parse.GetValue(_flops)!;
        bool hard = parse.GetValue(_hardLimit);
        string deviceName = parse.GetValue(_device)!;
        using var output = OpenOutput(parse);
        var device = DeviceSelector.Resolve(deviceName);
        using var model = ArchitectureGeneratorModel.Load(run, device);
        var clock = Stopwatch.StartNew();
        var generated = model.Generate(targets, hard);
        output.Log($"generated {generated.Count} architecture(s) in {clock.Elapsed.TotalMilliseconds:F1} ms");
        var result = generated.Select(g => new
        {
            targetFlopsM = g.TargetFlopsM,
            flopsM = g.FlopsM,
            paramsM = g.ParamsM,
            architecture = g.Architecture.ToString(),
            repaired = g.Repaired,
        }).ToArray();
        output.ResultTable(result, $"{generated.Count} architecture(s) from the generator in {run.Root}",
            ["target M", "FLOPs M", "params M", "repaired", "architecture"],
            generated.Select(g => new[] { $"{g.TargetFlopsM:F3}", $"{g.FlopsM:F3}", $"{g.ParamsM:F4}", g.Repaired ? "yes" : "", g.Architecture.ToString() }));
        return 0;
    }
}
