using System.Diagnostics;
using Sgnas.Generator;
using Sgnas.IO;
using Sgnas.Runtime;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas generate</c>: architectures for N FLOPs targets from one forward pass of a trained generator.</summary>
public sealed class GenerateCommand : ICommand
{
    public string Name => "generate";
    public string Summary => "Generate architectures for FLOPs targets with a trained generator (one forward pass).";
    public string Usage =>
        "  --run DIR          run folder holding generator.json/.pt\n" +
        "  --flops LIST       targets in M FLOPs, e.g. 2.5,3,3.5\n" +
        "  --hard-limit       repair architectures over their target until they fit\n" +
        "  --device D         cpu, cuda or cuda:N (default cpu)\n" +
        "  --json";

    public int Run(Args args)
    {
        var run = new RunFolder(args.Required("run"));
        var targets = args.Doubles("flops") ?? throw new UsageException("--flops is required (e.g. --flops 2.5,3,3.5).");
        bool hard = args.Flag("hard-limit");
        string deviceName = args.String("device", "cpu")!;
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
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
        output.Result(result, () => string.Join("\n", generated.Select(g =>
            $"target {g.TargetFlopsM,8:F3} M  ->  {g.FlopsM,8:F3} M FLOPs  {g.ParamsM,7:F4} M params{(g.Repaired ? "  (repaired)" : "")}  {g.Architecture}")));
        return 0;
    }
}
