using Sgnas.MLNet.Onnx;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas export</c>: the retrained network to ONNX, verified with ONNX Runtime before success is reported.</summary>
public sealed class ExportCommand : ICommand
{
    public string Name => "export";
    public string Summary => "Export a retrained network to ONNX, verified against TorchSharp with ONNX Runtime.";
    public string Usage =>
        "  --run DIR          retrain output folder (or a run folder with retrain/ inside) (required)\n" +
        "  --onnx FILE        ONNX file to write (default DIR/model.onnx)\n" +
        "  --raw-pixels       model input is pixels in [0, 255]; the run's normalisation is built into the graph\n" +
        "  --last             export last.pt instead of best.pt\n" +
        "  --json";

    public int Run(Args args)
    {
        string dir = args.Required("run");
        string? onnx = args.String("onnx");
        var options = new RetrainedExportOptions { RawPixels = args.Flag("raw-pixels"), UseLastCheckpoint = args.Flag("last") };
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        var r = RetrainedNetworkExporter.Export(dir, onnx, options);
        output.Result(r, () =>
            $"wrote {r.OnnxPath} ({r.Bytes / 1024.0:F1} KiB) from {r.Checkpoint}\n" +
            $"{r.Architecture} ({r.Preset})\n" +
            $"input '{r.InputName}' [N, {string.Join(", ", r.InputShape.Skip(1))}] " +
            (r.RawPixels ? "raw pixels 0..255" : $"normalised: (p/255 - [{string.Join(", ", r.NormalizationMean)}]) / [{string.Join(", ", r.NormalizationStd)}]") +
            $", output '{r.OutputName}' logits\n" +
            $"verified with ONNX Runtime on {r.VerifiedImages} images: max |ORT - TorchSharp| = {r.MaxAbsDifference:E2} (allowed {r.AllowedDifference:E2})");
        return 0;
    }
}
