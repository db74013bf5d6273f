using System.CommandLine;
using Sgnas.Cost;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas flops</c>: exact MACs and parameters of one architecture built as a standalone network.</summary>
public sealed class FlopsCommand : SgnasCommand
{
    private readonly Option<string> _preset = CliOptions.Preset();
    private readonly Option<string?> _arch = CliOptions.Text("--arch", "architecture, e.g. e4:3,3,5,7|e2:7,7|...", required: true);

    public override string Name => "flops";
    public override string Summary => "Exact FLOPs (MACs) and parameters of an architecture.";

    protected override int Run(ParseResult parse)
    {
        var preset = CliOptions.LoadPreset(parse, _preset);
        string text = parse.GetValue(_arch)!;
        using var output = OpenOutput(parse);
        var arch = ArchitectureCodec.Parse(text, preset);
        var cost = FlopsCounter.Count(preset, arch);
        double lutM = new FlopsLookupTable(preset).CostM(arch);
        output.Result(new { preset = preset.Name, architecture = arch.ToString(), flopsM = cost.FlopsM, paramsM = cost.ParamsM, lookupTableFlopsM = lutM },
            () => $"{arch}\nFLOPs  {cost.FlopsM:F3} M (lookup table {lutM:F3} M)\nparams {cost.ParamsM:F4} M");
        return 0;
    }
}
