using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;
using Sgnas.MLNet.Onnx;
using Sgnas.Modules;
using Sgnas.Onnx;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Sgnas.MLNet.Tests.Onnx;

/// <summary>ChildNetwork → ONNX: ORT parity over activations, SE, residuals and mixed kernels; the ML.NET hand-off.</summary>
public sealed class ChildNetworkOnnxExporterTests : IDisposable
{
    private readonly ITestOutputHelper _log;
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-child-onnx-").FullName;

    public ChildNetworkOnnxExporterTests(ITestOutputHelper log) => _log = log;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Three channels, a residual layer, a stride-2 layer, and widths that make the Split uneven to get wrong.</summary>
    private static SearchSpacePreset Tiny() => new()
    {
        Name = "tiny", InputChannels = 3, InputSize = 12, NumClasses = 5, StemChannels = 8, StemStride = 1,
        FirstBlockChannels = 6, Layers = new[] { new LayerSpec(6, 1), new LayerSpec(10, 2), new LayerSpec(10, 1) },
        HeadChannels = 16,
    };

    private static ChildNetwork Randomized(SearchSpacePreset preset, string arch, ChildNetworkOptions options, int seed)
    {
        TorchNative.EnsureLoaded();
        random.manual_seed(seed);
        var net = new ChildNetwork(preset, ArchitectureCodec.Parse(arch, preset), options);
        foreach (var m in net.modules().OfType<BatchNorm2d>()) OrtParity.Randomize(m);
        net.eval();
        return net;
    }

    private double MaxDifference(ChildNetwork net, byte[] model, Func<Tensor, Tensor>? toNetworkInput = null, Func<long[], Tensor>? draw = null)
    {
        var p = net.Preset;
        double worst = 0;
        foreach (int batch in OrtParity.Batches)
        {
            using var scope = NewDisposeScope();
            long[] shape = { batch, p.InputChannels, p.InputSize, p.InputSize };
            var x = draw?.Invoke(shape) ?? randn(shape);
            Tensor y;
            using (no_grad()) y = net.call(toNetworkInput?.Invoke(x) ?? x);
            double d = OnnxVerifier.MaxAbsDifference(model, OnnxGraphBuilder.DefaultInputName,
                TorchParameters.ToFloatArray(x), shape, TorchParameters.ToFloatArray(y));
            _log.WriteLine($"batch {batch}: logits [{string.Join(", ", y.shape)}], max |ORT - TorchSharp| = {d:E2}");
            worst = double.IsNaN(d) ? double.NaN : Math.Max(worst, d);
        }
        return worst;
    }

    [Theory]
    [InlineData(false, ActivationKind.ReLU6)]
    [InlineData(true, ActivationKind.ReLU6)]
    [InlineData(false, ActivationKind.HSwish)]
    [InlineData(true, ActivationKind.HSwish)]
    public void ExportMatchesTorchSharp(bool squeezeExcite, ActivationKind activation)
    {
        var net = Randomized(Tiny(), "e2:3,7|e6:3,3,5,5,7,7|e3:5,7,3",
            new ChildNetworkOptions(squeezeExcite, activation, Dropout: 0.2), seed: 21);
        byte[] model = ChildNetworkOnnxExporter.Export(net);
        Assert.InRange(MaxDifference(net, model), 0, OrtParity.Tolerance);
    }

    [Fact]
    public void ReferenceSqueezeExciteWithFirstMBConvGateMatches()
    {
        var net = Randomized(Tiny(), "e2:3,7|e6:3,3,5,5,7,7|e3:5,7,3", ChildNetworkOptions.Reference, seed: 25);
        Assert.NotNull(net.StemModule.SE);
        Assert.InRange(MaxDifference(net, ChildNetworkOnnxExporter.Export(net)), 0, OrtParity.Tolerance);
    }

    [Fact]
    public void ShippedFashionPresetWithSampledArchitectureMatches()
    {
        var preset = SearchSpacePreset.Load("fashion-small");
        string arch = ArchitectureCodec.ToText(new ArchitectureSampler(preset, 5).Sample());
        _log.WriteLine($"architecture {arch}");
        var net = Randomized(preset, arch, new ChildNetworkOptions(SqueezeExcite: true, ActivationKind.HSwish), seed: 22);
        Assert.InRange(MaxDifference(net, ChildNetworkOnnxExporter.Export(net)), 0, OrtParity.Tolerance);
    }

    [Fact]
    public void PixelNormalizationInTheGraphMatchesTrainingNormalization()
    {
        var net = Randomized(Tiny(), "e2:3,5|e2:5,7|e4:3,3,5,7", new ChildNetworkOptions(), seed: 23);
        var norm = ChannelNormalization.Cifar10;
        byte[] model = ChildNetworkOnnxExporter.Export(net, new ChildNetworkOnnxExportOptions { PixelNormalization = norm });
        var mean = tensor(norm.Mean, new long[] { 1, 3, 1, 1 });
        var std = tensor(norm.Std, new long[] { 1, 3, 1, 1 });
        Assert.InRange(MaxDifference(net, model,
            toNetworkInput: raw => (raw / 255f - mean) / std,
            draw: shape => randint(0, 256, shape).to_type(ScalarType.Float32)), 0, OrtParity.Tolerance);
    }

    [Fact]
    public void FoldedGraphHasNoBatchNormAndOneConvPerDepthwiseGroup()
    {
        const string arch = "e2:3,7|e6:3,3,5,5,7,7|e3:5,7,3";
        var net = Randomized(Tiny(), arch, new ChildNetworkOptions(SqueezeExcite: true, ActivationKind.HSwish), seed: 24);
        var ops = ChildNetworkOnnxExporter.Build(net).OperatorCounts;

        // stem 3 + per block (expand + one per active sub-block + SE reduce/expand + project)
        int expectedConvs = 3 + new[] { 2, 6, 3 }.Sum(e => 1 + e + 2 + 1) + 1;
        Assert.Equal(expectedConvs, ops["Conv"]);
        Assert.Equal(net.modules().OfType<Conv2d>().Count(), ops["Conv"]);
        Assert.False(ops.ContainsKey("BatchNormalization"));
        Assert.Equal(3, ops["Split"]);
        Assert.Equal(3, ops["Concat"]);
        Assert.Equal(3, ops["HardSigmoid"]);
        Assert.Equal(2, ops["Add"]); // residuals of layers 0 (6 -> 6) and 2 (10 -> 10), both stride 1
        Assert.Equal(1, ops["Gemm"]);
    }

    /// <summary>docs/design.md §6: the ONNX file ends in ML.NET's ONNX transformer, whose .zip reloads without TorchSharp types.</summary>
    [Fact]
    public void MlNetPipelineScoresTheExportAndSurvivesSaveAndLoad()
    {
        var preset = Tiny();
        var net = Randomized(preset, "e2:3,5|e3:3,5,7|e2:7,7", new ChildNetworkOptions(SqueezeExcite: true), seed: 25);
        string onnxPath = Path.Combine(_dir, "child.onnx");
        ChildNetworkOnnxExporter.Save(net, onnxPath);

        int size = preset.InputChannels * preset.InputSize * preset.InputSize;
        var images = Enumerable.Range(0, 3).Select(_ => new ImageRow { Input = TorchParameters.ToFloatArray(randn(size)) }).ToArray();
        var ml = new MLContext(seed: 1);
        var data = ml.Data.LoadFromEnumerable(images);
        var pipeline = ml.Transforms.ApplyOnnxModel(
            new[] { OnnxGraphBuilder.DefaultOutputName }, new[] { OnnxGraphBuilder.DefaultInputName }, onnxPath);
        var model = pipeline.Fit(data);

        string zip = Path.Combine(_dir, "model.zip");
        ml.Model.Save(model, data.Schema, zip);
        File.Delete(onnxPath); // the .zip must carry the ONNX bytes itself
        var reloaded = ml.Model.Load(zip, out _);

        var scored = ml.Data.CreateEnumerable<ScoreRow>(reloaded.Transform(data), reuseRowObject: false).ToArray();
        Assert.Equal(images.Length, scored.Length);
        double worst = 0;
        for (int i = 0; i < images.Length; i++)
        {
            using var scope = NewDisposeScope();
            float[] expected;
            using (no_grad())
                expected = TorchParameters.ToFloatArray(net.call(tensor(images[i].Input, new long[] { 1, preset.InputChannels, preset.InputSize, preset.InputSize })));
            Assert.Equal(preset.NumClasses, scored[i].Logits.Length);
            worst = Math.Max(worst, expected.Zip(scored[i].Logits, (a, b) => Math.Abs(a - b)).Max());
        }
        _log.WriteLine($"ML.NET reloaded pipeline: max |ML.NET - TorchSharp| = {worst:E2}");
        Assert.InRange(worst, 0, OrtParity.Tolerance);
    }

    private sealed class ImageRow
    {
        [VectorType(3, 12, 12)]
        [ColumnName(OnnxGraphBuilder.DefaultInputName)]
        public float[] Input { get; set; } = Array.Empty<float>();
    }

    private sealed class ScoreRow
    {
        [ColumnName(OnnxGraphBuilder.DefaultOutputName)]
        public float[] Logits { get; set; } = Array.Empty<float>();
    }
}
