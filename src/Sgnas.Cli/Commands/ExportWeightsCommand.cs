using System.CommandLine;
using Sgnas.IO;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas export-weights</c>: supernet or retrained-network weights as a state dict PyTorch loads (safetensors or
/// torch.save), through TorchSharp.PyBridge. <c>sgnas import-weights</c> reads them back.
/// </summary>
public sealed class ExportWeightsCommand : SgnasCommand
{
    private readonly Option<string> _run = CliOptions.Run("run folder (supernet), or retrain folder / run folder with retrain/ (with --child)");
    private readonly Option<string?> _out = CliOptions.Out("FILE.safetensors (safetensors.torch.load_file) or FILE.pt|.pth (torch.load)", required: true, helpName: "FILE");
    private readonly Option<bool> _child = CliOptions.Flag("--child", "export the retrained network (best epoch) instead of the supernet");
    private readonly Option<bool> _last = CliOptions.Flag("--last", "with --child: the last epoch instead of the best");

    public override string Name => "export-weights";
    public override string Summary => "Export supernet or retrained weights for PyTorch (safetensors or torch.save state dict).";

    protected override int Run(ParseResult parse)
    {
        string run = parse.GetValue(_run)!;
        string outPath = parse.GetValue(_out)!;
        bool child = parse.GetValue(_child), last = parse.GetValue(_last);
        using var output = OpenOutput(parse);
        WeightsFormat format;
        try { format = WeightsInterop.FormatOf(outPath); }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        if (last && !child) throw new UsageException("--last applies to --child only.");

        string what;
        if (child) what = "retrained network " + WeightsInterop.ExportChild(run, outPath, best: !last, format);
        else what = $"supernet ({WeightsInterop.ExportSupernet(run, outPath, format)} tensors)";
        var bytes = new FileInfo(outPath).Length;
        output.Result(new { path = Path.GetFullPath(outPath), format = format.ToString(), bytes, what },
            () => $"wrote {Path.GetFullPath(outPath)} ({bytes / 1024.0:F1} KiB, {format}): {what}");
        return 0;
    }
}
