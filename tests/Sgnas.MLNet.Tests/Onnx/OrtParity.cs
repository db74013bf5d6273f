using Sgnas.MLNet.Onnx;
using Sgnas.Onnx;
using Sgnas.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Sgnas.MLNet.Tests.Onnx;

/// <summary>
/// Exports a TorchSharp computation through <see cref="OnnxGraphBuilder"/>, runs it in ONNX Runtime with batch 1
/// and batch 3 from one model (the batch dimension is symbolic) and compares with TorchSharp's output.
/// </summary>
internal static class OrtParity
{
    /// <summary>Tolerance of every parity test: float32 rounding of a few hundred multiply-adds is far below it.</summary>
    public const double Tolerance = 1e-4;

    public static readonly int[] Batches = { 1, 3 };

    /// <summary>Largest |ORT − TorchSharp| over batch sizes 1 and 3.</summary>
    /// <param name="forward">TorchSharp computation (modules already in eval mode).</param>
    /// <param name="export">Adds the same computation to the builder, from the given input value; returns the output value.</param>
    /// <param name="inputShape">Input shape without the batch dimension.</param>
    /// <param name="opset">Opset of the exported model.</param>
    /// <param name="log">Where to report the measured differences.</param>
    public static double MaxDifference(Func<Tensor, Tensor> forward, Func<OnnxGraphBuilder, string, string> export,
        long[] inputShape, ITestOutputHelper log, int opset = OnnxGraphBuilder.DefaultOpsetVersion, long seed = 7)
    {
        TorchNative.EnsureLoaded();
        random.manual_seed(seed);
        var builder = new OnnxGraphBuilder(opsetVersion: opset);
        string input = builder.AddInput(OnnxGraphBuilder.DefaultInputName,
            new[] { OnnxDimension.Symbolic(OnnxGraphBuilder.BatchDimensionName) }.Concat(inputShape.Select(d => (OnnxDimension)d)).ToArray());
        string output = export(builder, input);

        double worst = 0;
        byte[]? model = null;
        foreach (int batch in Batches)
        {
            using var scope = NewDisposeScope();
            long[] shape = new long[] { batch }.Concat(inputShape).ToArray();
            var x = randn(shape);
            Tensor y;
            using (no_grad()) y = forward(x);
            if (model is null)
            {
                // Output shape comes from TorchSharp with the batch made symbolic, so the declared shape is checked by ORT.
                builder.AddOutput(output, "output",
                    new[] { OnnxDimension.Symbolic(OnnxGraphBuilder.BatchDimensionName) }.Concat(y.shape.Skip(1).Select(d => (OnnxDimension)d)).ToArray());
                model = builder.ToBytes();
            }
            var results = OnnxVerifier.Run(model, input, TorchParameters.ToFloatArray(x), shape);
            Assert.Equal(y.shape, results[0].Shape);
            double diff = OnnxVerifier.MaxAbsDifference(model, input, TorchParameters.ToFloatArray(x), shape, TorchParameters.ToFloatArray(y));
            log.WriteLine($"batch {batch}: output [{string.Join(", ", y.shape)}], max |ORT - TorchSharp| = {diff:E2}");
            worst = double.IsNaN(diff) ? double.NaN : Math.Max(worst, diff);
        }
        return worst;
    }

    /// <summary>Gives a batch norm non-trivial running statistics and affine parameters, and puts it in eval mode.</summary>
    public static BatchNorm2d Randomize(BatchNorm2d bn)
    {
        using var _ = no_grad();
        long c = bn.num_features;
        bn.running_mean!.copy_(randn(c) * 0.5);
        bn.running_var!.copy_(rand(c) + 0.5);
        bn.weight!.copy_(rand(c) + 0.5);
        bn.bias!.copy_(randn(c) * 0.2);
        bn.eval();
        return bn;
    }

    public static BatchNorm2d Bn(long channels) => Randomize(nn.BatchNorm2d(channels));
}
