using Microsoft.ML.OnnxRuntime;
using Sgnas.IO;
using Sgnas.MLNet.Onnx;
using Sgnas.Onnx;

namespace Sgnas.MLNet.Tests.Onnx;

/// <summary>Model files, metadata as ONNX Runtime reads it back, and the builder's input checks.</summary>
public sealed class OnnxFileTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-onnx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A 2-channel image → 1x1 conv → GAP → 3 logits graph with known weights.</summary>
    private static OnnxGraphBuilder SmallClassifier()
    {
        var b = new OnnxGraphBuilder("tiny");
        string x = b.AddImageInput(2, 4, 4);
        string y = b.Conv(x, new float[] { 1, 0, 0, 1, 1, 1 }, new long[] { 3, 2, 1, 1 }, new float[] { 0, 0, 0.5f });
        b.AddClassifierOutput(b.Flatten(b.GlobalAveragePool(y)), 3);
        return b;
    }

    [Fact]
    public void SavedModelLoadsWithDynamicBatchAndRunsCorrectly()
    {
        string path = Path.Combine(_dir, "model.onnx");
        SmallClassifier().Save(path);

        using var session = new InferenceSession(path);
        Assert.Equal("Sgnas.MLNet", session.ModelMetadata.ProducerName);
        var input = session.InputMetadata[OnnxGraphBuilder.DefaultInputName];
        Assert.Equal(new[] { -1, 2, 4, 4 }, input.Dimensions);
        Assert.Equal(OnnxGraphBuilder.BatchDimensionName, input.SymbolicDimensions[0]);
        var output = session.OutputMetadata[OnnxGraphBuilder.DefaultOutputName];
        Assert.Equal(new[] { -1, 3 }, output.Dimensions);

        // Channel 0 is all 1, channel 1 all 2: logits are the channel means mixed by the 1x1 weights.
        float[] data = Enumerable.Repeat(1f, 16).Concat(Enumerable.Repeat(2f, 16)).ToArray();
        float[] both = data.Concat(data.Select(v => v * 10)).ToArray();
        var result = OnnxVerifier.Run(path, OnnxGraphBuilder.DefaultInputName, both, new long[] { 2, 2, 4, 4 })[0];
        Assert.Equal(OnnxGraphBuilder.DefaultOutputName, result.Name);
        Assert.Equal(new long[] { 2, 3 }, result.Shape);
        Assert.Equal(new[] { 1f, 2f, 3.5f, 10f, 20f, 30.5f }, result.Data);
    }

    [Fact]
    public void FlatInputReshapeSoftmaxAndInt64ArgMaxOutput()
    {
        var b = new OnnxGraphBuilder("flat");
        string x = b.AddInput("Features", OnnxDimension.Symbolic(OnnxGraphBuilder.BatchDimensionName), 6);
        string rows = b.Reshape(x, new long[] { -1, 2, 3 });
        string last = b.Flatten(b.Slice(rows, new long[] { 1 }, new long[] { 2 }, new long[] { 1 }), axis: 1); // second row of each 2x3 image
        b.AddClassifierOutput(b.Softmax(last, axis: 1), 3, "Score");
        b.AddOutput(b.ArgMax(last, axis: 1), "Index", OnnxDataType.Int64, OnnxDimension.Symbolic(OnnxGraphBuilder.BatchDimensionName));
        byte[] model = b.ToBytes();

        using (var session = new InferenceSession(model))
            Assert.Equal(typeof(long), session.OutputMetadata["Index"].ElementType);
        // Image 0's second row is (0, 5, 5): a tie, where ArgMax must pick the first maximum like torch.argmax.
        var outputs = OnnxVerifier.Run(model, "Features", new float[] { 9, 9, 9, 0, 5, 5, 1, 2, 3, 7, 1, 0 }, new long[] { 2, 6 });
        Assert.Equal(new[] { 1f, 0f }, outputs[1].Data);
        Assert.Equal(new long[] { 2 }, outputs[1].Shape);
        double e = Math.Exp(7) + Math.Exp(1) + 1;
        Assert.Equal(Math.Exp(7) / e, outputs[0].Data[3], 6);
        double t = 1 + 2 * Math.Exp(5);
        Assert.Equal(1 / t, outputs[0].Data[0], 6);
        Assert.Equal(Math.Exp(5) / t, outputs[0].Data[1], 6);
    }

    [Fact]
    public void ReshapeRejectsTwoInferredSizes()
    {
        var b = new OnnxGraphBuilder();
        string x = b.AddInput("x", 4);
        Assert.Throws<ArgumentException>(() => b.Reshape(x, new long[] { -1, -1 }));
        Assert.Throws<ArgumentException>(() => b.Reshape(x, new long[] { -2, 2 }));
    }

    [Fact]
    public void SaveReplacesAnExistingModel()
    {
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllText(path, "old");
        var b = SmallClassifier();
        b.Save(path);
        Assert.Equal(b.ToBytes(), File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void FailingWriteKeepsThePreviousFileAndLeavesNoTemporary()
    {
        string path = Path.Combine(_dir, "model.onnx");
        File.WriteAllText(path, "previous model");
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[4096]); // half-written content must never become visible
            throw new IOException("disk full (simulated)");
        }));
        Assert.Contains("simulated", e.Message);
        Assert.Equal("previous model", File.ReadAllText(path));
        Assert.Equal(new[] { path }, Directory.GetFiles(_dir));
    }

    [Fact]
    public void FailingMoveLeavesNoTemporary()
    {
        // The target is a folder, so the final rename fails after the temporary file was fully written.
        string path = Path.Combine(_dir, "occupied");
        Directory.CreateDirectory(path);
        Assert.ThrowsAny<IOException>(() => SmallClassifier().Save(path));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void UndefinedInputIsRejectedAtTheCallThatUsesIt()
    {
        var b = new OnnxGraphBuilder();
        b.AddImageInput(3, 8, 8);
        var e = Assert.Throws<ArgumentException>(() => b.Relu("nope"));
        Assert.Contains("'nope'", e.Message);
        Assert.Contains("Relu", e.Message);
    }

    [Fact]
    public void DuplicateInputAndOutputNamesAreRejected()
    {
        var b = new OnnxGraphBuilder();
        string x = b.AddImageInput(3, 8, 8);
        Assert.Throws<ArgumentException>(() => b.AddImageInput(3, 8, 8));
        var e = Assert.Throws<ArgumentException>(() => b.AddOutput(b.Relu(x), x, 3));
        Assert.Contains("already used", e.Message);
    }

    [Fact]
    public void GeneratedNamesAreMadeUnique()
    {
        var b = new OnnxGraphBuilder();
        string x = b.AddImageInput(1, 2, 2);
        string w1 = b.AddInitializer("w", new float[] { 1 }, 1);
        string w2 = b.AddInitializer("w", new float[] { 2 }, 1);
        Assert.NotEqual(w1, w2);
        Assert.NotEqual(b.Relu(x), b.Relu(x));
    }

    [Fact]
    public void InitializerWhoseDataDoesNotFillItsShapeIsRejected()
    {
        var b = new OnnxGraphBuilder();
        var e = Assert.Throws<ArgumentException>(() => b.AddInitializer("w", new float[5], 2, 3));
        Assert.Contains("6", e.Message);
    }

    [Fact]
    public void GraphWithoutInputOrOutputCannotBeSerialized()
    {
        var b = new OnnxGraphBuilder();
        Assert.Throws<InvalidOperationException>(() => b.ToBytes());
        b.AddImageInput(1, 2, 2);
        Assert.Throws<InvalidOperationException>(() => b.ToBytes());
    }

    [Theory]
    [InlineData(13)]
    [InlineData(19)]
    public void OpsetOutsideTheCheckedRangeIsRejected(int opset) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new OnnxGraphBuilder(opsetVersion: opset));

    [Fact]
    public void ConvArgumentsAreValidated()
    {
        var b = new OnnxGraphBuilder();
        string x = b.AddImageInput(4, 8, 8);
        Assert.Throws<ArgumentException>(() => b.Conv(x, new float[8], new long[] { 2, 4, 1 }, pads: new long[] { 1, 1, 1 }));
        Assert.Throws<ArgumentException>(() => b.Conv(x, new float[4 * 9], new long[] { 4, 1, 3, 3 }, bias: new float[3], group: 4));
        Assert.Throws<ArgumentException>(() => b.Conv(x, new float[6 * 9], new long[] { 6, 1, 3, 3 }, group: 4));
    }

    [Fact]
    public void VerifierReportsAWrongInputName()
    {
        byte[] model = SmallClassifier().ToBytes();
        var e = Assert.Throws<ArgumentException>(() => OnnxVerifier.Run(model, "image", new float[32], new long[] { 1, 2, 4, 4 }));
        Assert.Contains(OnnxGraphBuilder.DefaultInputName, e.Message);
    }
}
