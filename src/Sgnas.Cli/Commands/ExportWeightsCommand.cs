using Sgnas.IO;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas export-weights</c>: supernet or retrained-network weights as a state dict PyTorch loads (safetensors or
/// torch.save), through TorchSharp.PyBridge. Importing back is <see cref="WeightsInterop"/>'s Import* API.
/// </summary>
public sealed class ExportWeightsCommand : ICommand
{
    public string Name => "export-weights";
    public string Summary => "Export supernet or retrained weights for PyTorch (safetensors or torch.save state dict).";
    public string Usage =>
        "  --run DIR          run folder (supernet), or retrain folder / run folder with retrain/ (with --child) (required)\n" +
        "  --out FILE         FILE.safetensors (safetensors.torch.load_file) or FILE.pt|.pth (torch.load) (required)\n" +
        "  --child            export the retrained network (best epoch) instead of the supernet\n" +
        "  --last             with --child: the last epoch instead of the best\n" +
        "  --json";

    public int Run(Args args)
    {
        string run = args.Required("run");
        string outPath = args.Required("out");
        bool child = args.Flag("child"), last = args.Flag("last");
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
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
