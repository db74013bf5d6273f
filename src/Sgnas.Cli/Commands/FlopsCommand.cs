using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas flops</c>: exact MACs and parameters of one architecture built as a standalone network.</summary>
public sealed class FlopsCommand : ICommand
{
    public string Name => "flops";
    public string Summary => "Exact FLOPs (MACs) and parameters of an architecture.";
    public string Usage => "  --preset NAME|FILE   (default fashion-small)\n  --arch TEXT          e.g. e4:3,3,5,7|e2:7,7|...\n  --json";

    public int Run(Args args)
    {
        var preset = SearchSpacePreset.Load(args.String("preset", "fashion-small")!);
        string text = args.Required("arch");
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        var arch = ArchitectureCodec.Parse(text, preset);
        var cost = FlopsCounter.Count(preset, arch);
        double lutM = new FlopsLookupTable(preset).CostM(arch);
        output.Result(new { preset = preset.Name, architecture = arch.ToString(), flopsM = cost.FlopsM, paramsM = cost.ParamsM, lookupTableFlopsM = lutM },
            () => $"{arch}\nFLOPs  {cost.FlopsM:F3} M (lookup table {lutM:F3} M)\nparams {cost.ParamsM:F4} M");
        return 0;
    }
}
