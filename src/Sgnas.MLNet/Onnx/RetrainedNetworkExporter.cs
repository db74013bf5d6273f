using Sgnas.Data;
using Sgnas.IO;
using Sgnas.Onnx;
using Sgnas.Runtime;
using Sgnas.Training;
using static TorchSharp.torch;

namespace Sgnas.MLNet.Onnx;

/// <summary>Options of <see cref="RetrainedNetworkExporter"/>.</summary>
public sealed record RetrainedExportOptions
{
    /// <summary>
    /// Model input is raw pixels in [0, 255]; the run's normalisation (state.json) is embedded in the graph. Otherwise
    /// the model takes normalised images like the TorchSharp network.
    /// </summary>
    public bool RawPixels { get; init; }

    /// <summary>Export last.pt instead of best.pt.</summary>
    public bool UseLastCheckpoint { get; init; }

    /// <summary>Images in the verification batch (random inputs run through both TorchSharp and ONNX Runtime).</summary>
    public int VerifyBatch { get; init; } = 3;

    /// <summary>Seed of the verification inputs.</summary>
    public int Seed { get; init; }

    /// <summary>Largest allowed |ONNX Runtime − TorchSharp| on the logits, relative to max(1, max |logit|).</summary>
    public double Tolerance { get; init; } = 1e-3;
}

/// <summary>What <see cref="RetrainedNetworkExporter.Export"/> wrote and how it verified it.</summary>
/// <param name="OnnxPath">The ONNX file written.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Architecture">Architecture text.</param>
/// <param name="Preset">Preset name.</param>
/// <param name="Checkpoint">Weights file exported.</param>
/// <param name="InputName">Graph input name ([N, C, H, W], dynamic N).</param>
/// <param name="OutputName">Graph output name (logits [N, classes]).</param>
/// <param name="InputShape">Input shape with N = -1.</param>
/// <param name="RawPixels">Whether the input is raw pixels in [0, 255].</param>
/// <param name="NormalizationMean">Per-channel mean (embedded when <paramref name="RawPixels"/>, to apply by the caller otherwise).</param>
/// <param name="NormalizationStd">Per-channel std.</param>
/// <param name="MaxAbsDifference">Largest |ONNX Runtime − TorchSharp| over the verification logits.</param>
/// <param name="AllowedDifference">The bound it had to meet.</param>
/// <param name="VerifiedImages">Images in the verification batch.</param>
public sealed record RetrainedExportReport(string OnnxPath, long Bytes, string Architecture, string Preset, string Checkpoint,
    string InputName, string OutputName, long[] InputShape, bool RawPixels, float[] NormalizationMean, float[] NormalizationStd,
    double MaxAbsDifference, double AllowedDifference, int VerifiedImages);

/// <summary>
/// Exports the network of a retraining folder (<see cref="RetrainFolder"/>) to ONNX and proves the file right before
/// writing it: the same random batch goes through the TorchSharp network (eval mode) and through ONNX Runtime, and
/// the logits must agree. Nothing is written when they do not.
/// </summary>
public static class RetrainedNetworkExporter
{
    /// <summary>
    /// The retraining folder for <paramref name="dir"/>: the folder itself when it holds state.json, else its
    /// <c>retrain/</c> sub-folder (<see cref="RunFolder.RetrainDir"/>).
    /// </summary>
    /// <exception cref="FileNotFoundException">Neither holds a retraining checkpoint.</exception>
    public static RetrainFolder ResolveFolder(string dir)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dir);
        var direct = new RetrainFolder(dir);
        if (direct.HasCheckpoint) return direct;
        var nested = new RetrainFolder(new RunFolder(dir).RetrainDir);
        if (nested.HasCheckpoint) return nested;
        throw new FileNotFoundException(
            $"No retrained network in {direct.Root} (expected state.json and best.pt there or in its retrain/ folder). " +
            $"Run 'sgnas retrain --out {direct.Root} ...' first.", direct.State);
    }

    /// <summary>
    /// Exports <paramref name="dir"/>'s network to <paramref name="onnxPath"/> (default: model.onnx in
    /// <paramref name="dir"/>), verified with ONNX Runtime.
    /// </summary>
    /// <exception cref="InvalidOperationException">ONNX Runtime's logits differ from TorchSharp's beyond the tolerance.</exception>
    public static RetrainedExportReport Export(string dir, string? onnxPath = null, RetrainedExportOptions? options = null)
    {
        var o = options ?? new RetrainedExportOptions();
        if (o.VerifyBatch < 1) throw new ArgumentOutOfRangeException(nameof(options), o.VerifyBatch, "VerifyBatch must be at least 1.");
        if (!(o.Tolerance > 0)) throw new ArgumentOutOfRangeException(nameof(options), o.Tolerance, "Tolerance must be positive.");
        TorchNative.EnsureLoaded();
        var folder = ResolveFolder(dir);
        string target = Path.GetFullPath(onnxPath ?? Path.Combine(dir, "model.onnx"));
        var (net, state) = Sgnas.Training.ArchitectureRetrainer.LoadNetwork(folder, CPU, best: !o.UseLastCheckpoint);
        using (net)
        {
            var p = net.Preset;
            var norm = new ChannelNormalization(state.NormalizationMean, state.NormalizationStd);
            var exportOptions = new ChildNetworkOnnxExportOptions { PixelNormalization = o.RawPixels ? norm : null };
            byte[] model = ChildNetworkOnnxExporter.Export(net, exportOptions);

            long[] shape = { o.VerifyBatch, p.InputChannels, p.InputSize, p.InputSize };
            using var scope = NewDisposeScope();
            var gen = new TorchSharp.torch.Generator((ulong)o.Seed); // qualified: namespace Sgnas.Generator hides torch.Generator here
            // Raw pixels: the graph normalises, TorchSharp gets the normalised batch. Otherwise both get the same values.
            var input = o.RawPixels ? rand(shape, generator: gen).mul_(255f) : randn(shape, generator: gen);
            var netInput = o.RawPixels
                ? input.div(255f).sub(tensor(norm.Mean, new long[] { 1, p.InputChannels, 1, 1 })).div(tensor(norm.Std, new long[] { 1, p.InputChannels, 1, 1 }))
                : input;
            Tensor logits;
            using (no_grad()) logits = net.call(netInput);
            float[] reference = logits.contiguous().data<float>().ToArray();
            float[] x = input.contiguous().data<float>().ToArray();
            double diff = OnnxVerifier.MaxAbsDifference(model, exportOptions.InputName, x, shape, reference);
            double allowed = o.Tolerance * Math.Max(1.0, reference.Max(v => Math.Abs((double)v)));
            if (!(diff <= allowed))
                throw new InvalidOperationException(
                    $"ONNX export of {folder.Root} does not match the TorchSharp network: max |ONNX Runtime − TorchSharp| = {diff:G3} " +
                    $"on the logits (allowed {allowed:G3}); {target} was not written.");
            AtomicFile.WriteAllBytes(target, model);
            return new RetrainedExportReport(target, model.LongLength, state.Architecture, p.Name,
                o.UseLastCheckpoint ? folder.LastWeights : folder.BestWeights, exportOptions.InputName, exportOptions.OutputName,
                new long[] { -1, p.InputChannels, p.InputSize, p.InputSize }, o.RawPixels, norm.Mean, norm.Std, diff, allowed, o.VerifyBatch);
        }
    }
}
