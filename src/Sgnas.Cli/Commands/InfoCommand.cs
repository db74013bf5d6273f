using System.CommandLine;
using Sgnas.Cost;
using Sgnas.Modules;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas info</c>: size of a search space, supernet parameters and the FLOPs range.</summary>
public sealed class InfoCommand : SgnasCommand
{
    private readonly Option<string> _preset = CliOptions.Preset();

    public override string Name => "info";
    public override string Summary => "Describe a search space: layers, choices, size, supernet parameters, FLOPs range.";

    protected override int Run(ParseResult parse)
    {
        var preset = CliOptions.LoadPreset(parse, _preset);
        using var output = OpenOutput(parse);
        var lut = new FlopsLookupTable(preset);
        var (min, max) = lut.Range();
        var (low, high) = lut.ConstraintInterval();
        long supernetParams;
        using (var sn = new Supernet(preset)) supernetParams = sn.ParameterCount();
        long six = ConventionalSupernet.Parameters(preset, ConventionalSupernet.SixCandidates);
        long thirteen = ConventionalSupernet.Parameters(preset, ConventionalSupernet.ThirteenCandidates);
        var result = new
        {
            preset = preset.Name,
            layers = preset.LayerCount,
            choicesPerLayer = ForcedSampling.ChoicesPerLayer(preset),
            searchSpaceLog10 = ForcedSampling.SearchSpaceLog10(preset),
            supernetParams,
            conventionalSupernetParams = new { candidates6 = six, candidates13 = thirteen, candidates13Definition = "kernels {3,5,7} x expansion {1,2,3,6} + skip" },
            minFlopsM = min,
            maxFlopsM = max,
            constraintLowM = low,
            constraintHighM = high,
            input = new[] { preset.InputChannels, preset.InputSize, preset.InputSize },
            classes = preset.NumClasses,
        };
        output.Result(result, () =>
            $"preset            {preset.Name}\n" +
            $"layers            {preset.LayerCount} unified blocks, {ForcedSampling.ChoicesPerLayer(preset)} choices each\n" +
            $"search space      {ForcedSampling.ChoicesPerLayer(preset)}^{preset.LayerCount} = 10^{ForcedSampling.SearchSpaceLog10(preset):F2} architectures\n" +
            $"supernet params   {supernetParams / 1e6:F3} M (unified)\n" +
            $"conventional      {six / 1e6:F3} M (6 candidates, x{(double)six / supernetParams:F2}), {thirteen / 1e6:F3} M (13 candidates, x{(double)thirteen / supernetParams:F2})\n" +
            $"FLOPs range       {min:F3} .. {max:F3} M (generator interval {low:F3} .. {high:F3} M)");
        return 0;
    }
}
