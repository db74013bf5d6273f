using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Sgnas.MLNet.Onnx;

/// <summary>One output tensor of an ONNX Runtime run (int64 outputs converted to float).</summary>
/// <param name="Name">Graph output name.</param>
/// <param name="Data">Values, row-major.</param>
/// <param name="Shape">Shape as the runtime reports it.</param>
public sealed record OnnxTensorResult(string Name, float[] Data, long[] Shape);

/// <summary>
/// Runs exported ONNX models in ONNX Runtime (the engine ML.NET's ONNX transformer uses) and compares them with
/// reference outputs, to prove that an export computes what the TorchSharp network computes.
/// </summary>
public static class OnnxVerifier
{
    /// <summary>Runs a model on one float input and returns every graph output.</summary>
    /// <param name="model">ONNX model bytes.</param>
    /// <param name="inputName">Name of the graph input to feed.</param>
    /// <param name="input">Input values, row-major.</param>
    /// <param name="shape">Input shape (the batch size is the first dimension).</param>
    /// <exception cref="ArgumentException">The values do not fill the shape, or the model has no such input.</exception>
    /// <exception cref="OnnxRuntimeException">The model is invalid or fails to run.</exception>
    public static IReadOnlyList<OnnxTensorResult> Run(byte[] model, string inputName, float[] input, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(inputName);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(shape);
        long count = shape.Aggregate(1L, (a, d) => a * d);
        if (count != input.Length)
            throw new ArgumentException($"Input has {input.Length} values but shape [{string.Join(", ", shape)}] holds {count}.", nameof(shape));

        using var options = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        using var session = new InferenceSession(model, options);
        if (!session.InputMetadata.ContainsKey(inputName))
            throw new ArgumentException(
                $"The model has no input '{inputName}'; its inputs are: {string.Join(", ", session.InputMetadata.Keys)}.", nameof(inputName));

        using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
        using var runOptions = new RunOptions();
        var outputNames = session.OutputNames;
        using var outputs = session.Run(runOptions, new[] { inputName }, new[] { value }, outputNames);
        var results = new List<OnnxTensorResult>(outputs.Count);
        for (int i = 0; i < outputs.Count; i++)
        {
            var o = outputs[i];
            var info = o.GetTensorTypeAndShape();
            float[] data = info.ElementDataType switch
            {
                TensorElementType.Float => o.GetTensorDataAsSpan<float>().ToArray(),
                // Class indices (ArgMax) are small integers, exact in float.
                TensorElementType.Int64 => Array.ConvertAll(o.GetTensorDataAsSpan<long>().ToArray(), v => (float)v),
                var t => throw new NotSupportedException($"Output '{outputNames[i]}' has element type {t}; only float and int64 outputs are read."),
            };
            results.Add(new OnnxTensorResult(outputNames[i], data, info.Shape));
        }
        return results;
    }

    /// <summary>Runs the model stored at <paramref name="path"/>; see <see cref="Run(byte[], string, float[], long[])"/>.</summary>
    public static IReadOnlyList<OnnxTensorResult> Run(string path, string inputName, float[] input, long[] shape) =>
        Run(File.ReadAllBytes(path), inputName, input, shape);

    /// <summary>
    /// Largest absolute difference between the model's first output and <paramref name="reference"/> (for example
    /// the TorchSharp network's output on the same input).
    /// </summary>
    /// <exception cref="ArgumentException">The output and the reference differ in length.</exception>
    public static double MaxAbsDifference(byte[] model, string inputName, float[] input, long[] shape, float[] reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var output = Run(model, inputName, input, shape)[0];
        if (output.Data.Length != reference.Length)
            throw new ArgumentException(
                $"Output '{output.Name}' has {output.Data.Length} values [{string.Join(", ", output.Shape)}] but the reference has {reference.Length}.",
                nameof(reference));
        double max = 0;
        for (int i = 0; i < reference.Length; i++)
        {
            double d = Math.Abs((double)output.Data[i] - reference[i]);
            if (double.IsNaN(d)) return double.NaN; // a NaN anywhere must fail any tolerance check
            max = Math.Max(max, d);
        }
        return max;
    }

    /// <summary>See <see cref="MaxAbsDifference(byte[], string, float[], long[], float[])"/>; reads the model from a file.</summary>
    public static double MaxAbsDifference(string path, string inputName, float[] input, long[] shape, float[] reference) =>
        MaxAbsDifference(File.ReadAllBytes(path), inputName, input, shape, reference);
}
