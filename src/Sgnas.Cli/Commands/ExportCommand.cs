using System.CommandLine;
using Sgnas.MLNet.Onnx;

namespace Sgnas.Cli.Commands;

/// <summary><c>sgnas export</c>: the retrained network to ONNX, verified with ONNX Runtime before success is reported.</summary>
public sealed class ExportCommand : SgnasCommand
{
    private readonly Option<string> _run = CliOptions.Run("retrain output folder (or a run folder with retrain/ inside)");
    private readonly Option<string?> _onnx = CliOptions.Text("--onnx", "ONNX file to write (default DIR/model.onnx)", "FILE");
    private readonly Option<bool> _rawPixels = CliOptions.Flag("--raw-pixels", "model input is pixels in [0, 255]; the run's normalisation is built into the graph");
    private readonly Option<bool> _last = CliOptions.Flag("--last", "export last.pt instead of best.pt");

    public override string Name => "export";
    public override string Summary => "Export a retrained network to ONNX, verified against TorchSharp with ONNX Runtime.";

    protected override int Run(ParseResult parse)
    {
        string dir = parse.GetValue(_run)!;
        string? onnx = parse.GetValue(_onnx);
        var options = new RetrainedExportOptions { RawPixels = parse.GetValue(_rawPixels), UseLastCheckpoint = parse.GetValue(_last) };
        using var output = OpenOutput(parse);
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
