using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
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

/// <summary>
/// The ML.NET deployment path: probabilities/argmax export, the estimator chain (schema, Evaluate, PredictionEngine),
/// and the saved .zip scored by examples/Sgnas.Predict in a process that has no TorchSharp.
/// </summary>
public sealed class OnnxClassifierPipelineTests : IDisposable
{
    private const int TinyFeatures = 3 * 12 * 12;
    private const int TinyClasses = 5;
    private static readonly string[] TinyNames = { "ant", "bee", "cat", "dog", "eel" };

    private readonly ITestOutputHelper _log;
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-onnx-pipeline-").FullName;

    public OnnxClassifierPipelineTests(ITestOutputHelper log) => _log = log;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static SearchSpacePreset Tiny() => new()
    {
        Name = "tiny", InputChannels = 3, InputSize = 12, NumClasses = TinyClasses, StemChannels = 8, StemStride = 1,
        FirstBlockChannels = 6, Layers = new[] { new LayerSpec(6, 1), new LayerSpec(10, 2), new LayerSpec(10, 1) },
        HeadChannels = 16,
    };

    private static ChildNetwork Randomized(SearchSpacePreset preset, string arch, int seed)
    {
        TorchNative.EnsureLoaded();
        random.manual_seed(seed);
        var net = new ChildNetwork(preset, ArchitectureCodec.Parse(arch, preset), new ChildNetworkOptions(SqueezeExcite: true, ActivationKind.HSwish));
        foreach (var m in net.modules().OfType<BatchNorm2d>()) OrtParity.Randomize(m);
        net.eval();
        return net;
    }

    /// <summary>
    /// A random network gives every image nearly the same logits, so one class wins everywhere. Calibrating the batch
    /// norms, re-centring the classifier on <paramref name="images"/> (bias −= mean logits) and scaling it makes the
    /// argmax depend on the image, so the class-key mapping is really exercised.
    /// </summary>
    private static void Spread(ChildNetwork net, ChannelNormalization norm, float[][] images, float scale = 10f)
    {
        // Batch statistics of these images first (as after training): with random running statistics the
        // activations shrink layer after layer until the head sees the same features for every image.
        var p = net.Preset;
        using (var calibration = NewDisposeScope())
        {
            var x = tensor(images.SelectMany(r => r).ToArray(), new long[] { images.Length, p.InputChannels, p.InputSize, p.InputSize });
            var m = tensor(norm.Mean, new long[] { 1, p.InputChannels, 1, 1 });
            var sd = tensor(norm.Std, new long[] { 1, p.InputChannels, 1, 1 });
            var norms = net.modules().OfType<BatchNorm2d>().ToArray();
            foreach (var bn in norms) bn.momentum = 1.0; // running statistics := this batch's statistics
            net.train();
            using (no_grad()) net.call((x / 255f - m) / sd);
            net.eval();
            foreach (var bn in norms) bn.momentum = 0.1;
        }
        var (logits, _, _) = Reference(net, norm, images);
        var linear = net.HeadModule.Classifier;
        int k = logits[0].Length;
        var mean = Enumerable.Range(0, k).Select(j => logits.Average(r => r[j])).Select(v => (float)v).ToArray();
        using var scope = NewDisposeScope();
        using (no_grad())
        {
            linear.bias!.sub_(tensor(mean));
            linear.bias!.mul_(scale);
            linear.weight!.mul_(scale);
        }
    }

    /// <summary>
    /// Raw pixel images [n, C·H·W], whole numbers in 0..255 from a seeded generator; each image has its own
    /// brightness and contrast (uniform noise alone pools to the same features for every image).
    /// </summary>
    private static float[][] Pixels(int n, int features, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ =>
        {
            double contrast = rng.NextDouble(), offset = rng.NextDouble() * 255 * (1 - contrast);
            return Enumerable.Range(0, features).Select(_ => (float)Math.Round(offset + contrast * rng.Next(256))).ToArray();
        }).ToArray();
    }

    /// <summary>TorchSharp reference on raw pixels: logits, softmax probabilities, argmax per image.</summary>
    private static (float[][] Logits, float[][] Probabilities, int[] Argmax) Reference(ChildNetwork net, ChannelNormalization norm, float[][] images)
    {
        var p = net.Preset;
        using var scope = NewDisposeScope();
        var x = tensor(images.SelectMany(r => r).ToArray(), new long[] { images.Length, p.InputChannels, p.InputSize, p.InputSize });
        var mean = tensor(norm.Mean, new long[] { 1, p.InputChannels, 1, 1 });
        var std = tensor(norm.Std, new long[] { 1, p.InputChannels, 1, 1 });
        Tensor logits;
        using (no_grad()) logits = net.call((x / 255f - mean) / std);
        float[] l = TorchParameters.ToFloatArray(logits);
        float[] s = TorchParameters.ToFloatArray(logits.softmax(1));
        long[] a = logits.argmax(1).data<long>().ToArray();
        int k = p.NumClasses;
        return (Rows(l, k), Rows(s, k), a.Select(v => (int)v).ToArray());
    }

    private static float[][] Rows(float[] flat, int k) => Enumerable.Range(0, flat.Length / k).Select(i => flat[(i * k)..((i + 1) * k)]).ToArray();

    private static double MaxDiff(float[][] a, float[][] b)
    {
        Assert.Equal(a.Length, b.Length);
        double worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            Assert.Equal(a[i].Length, b[i].Length);
            for (int j = 0; j < a[i].Length; j++)
            {
                double d = Math.Abs((double)a[i][j] - b[i][j]);
                if (double.IsNaN(d)) return double.NaN;
                worst = Math.Max(worst, d);
            }
        }
        return worst;
    }

    [Fact]
    public void MLNetExportOutputsLogitsProbabilitiesAndArgmaxOfFlattenedRawPixels()
    {
        var net = Randomized(Tiny(), "e2:3,7|e6:3,3,5,5,7,7|e3:5,7,3", seed: 31);
        var norm = ChannelNormalization.Cifar10;
        var options = ChildNetworkOnnxExportOptions.ForMLNet(norm, includeLogits: true, TinyNames);
        Assert.Equal(new[] { "logits", "Score", "PredictedIndex" }, options.OutputNames());
        byte[] model = ChildNetworkOnnxExporter.Export(net, options);

        foreach (int batch in OrtParity.Batches)
        {
            var images = Pixels(batch, TinyFeatures, seed: batch);
            var (logits, probs, argmax) = Reference(net, norm, images);
            var outputs = OnnxVerifier.Run(model, "Features", images.SelectMany(r => r).ToArray(), new long[] { batch, TinyFeatures });
            Assert.Equal(new[] { "logits", "Score", "PredictedIndex" }, outputs.Select(o => o.Name));
            Assert.Equal(new long[] { batch, TinyClasses }, outputs[1].Shape);
            Assert.Equal(new long[] { batch }, outputs[2].Shape);
            double dl = MaxDiff(Rows(outputs[0].Data, TinyClasses), logits);
            double dp = MaxDiff(Rows(outputs[1].Data, TinyClasses), probs);
            _log.WriteLine($"batch {batch}: max |ORT - TorchSharp| logits {dl:E2}, probabilities {dp:E2}");
            Assert.InRange(dl, 0, OrtParity.Tolerance);
            Assert.InRange(dp, 0, OrtParity.Tolerance);
            Assert.Equal(argmax, outputs[2].Data.Select(v => (int)v));
            Assert.All(Rows(outputs[1].Data, TinyClasses), r => Assert.Equal(1.0, r.Sum(), 4));
        }
    }

    [Fact]
    public void ExportWithoutAnyOutputOrWithClashingNamesIsRejected()
    {
        var net = Randomized(Tiny(), "e2:3,5|e2:5,7|e4:3,3,5,7", seed: 32);
        Assert.Throws<ArgumentException>(() => ChildNetworkOnnxExporter.Export(net, new ChildNetworkOnnxExportOptions { IncludeLogits = false }));
        var ex = Assert.Throws<ArgumentException>(() => ChildNetworkOnnxExporter.Export(net,
            new ChildNetworkOnnxExportOptions { ProbabilitiesOutputName = "logits" }));
        Assert.Contains("'logits'", ex.Message);
        var names = Assert.Throws<ArgumentException>(() => ChildNetworkOnnxExporter.Export(net,
            ChildNetworkOnnxExportOptions.ForMLNet(ChannelNormalization.Cifar10, classNames: new[] { "a", "b" })));
        Assert.Contains("2 class names", names.Message);
    }

    [Fact]
    public void FittedChainHasKeyPredictionsEvaluatesAndServesAPredictionEngine()
    {
        var net = Randomized(Tiny(), "e2:3,5|e3:3,5,7|e2:7,7", seed: 33);
        var norm = ChannelNormalization.Cifar10;
        var ml = new MLContext(seed: 1);

        var images = Pixels(12, TinyFeatures, seed: 5);
        Spread(net, norm, images);
        var estimator = OnnxClassifierPipeline.Create(ml, net, norm, _dir, TinyNames);
        Assert.Equal(TinyFeatures, estimator.FeatureCount);
        Assert.True(File.Exists(Path.Combine(_dir, "model.onnx")));
        var (_, probs, argmax) = Reference(net, norm, images);
        // Half the labels agree with the network, half do not: accuracy must come out at exactly 0.5. LoadFromEnumerable
        // reads a key member as the 0-based class index (it stores index + 1), while CreateEnumerable returns raw keys.
        var rows = images.Select((f, i) => new TinyRow { Features = f, Label = (uint)(i % 2 == 0 ? argmax[i] : (argmax[i] + 1) % TinyClasses) }).ToArray();
        Assert.True(argmax.Distinct().Count() >= 3, $"test images should reach several classes, got {string.Join(",", argmax)}");
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = estimator.Fit(data);
        var scored = model.Transform(data);

        var score = scored.Schema["Score"];
        var scoreType = Assert.IsType<VectorDataViewType>(score.Type);
        Assert.Equal(NumberDataViewType.Single, scoreType.ItemType);
        Assert.Equal(TinyClasses, scoreType.Size);
        // Class names travel in the ONNX file as ML.NET's slot-names node and come back on the Score column.
        VBuffer<ReadOnlyMemory<char>> slotNames = default;
        score.Annotations.GetValue("SlotNames", ref slotNames);
        Assert.Equal(TinyNames, slotNames.DenseValues().Select(m => m.ToString()));
        var predicted = scored.Schema["PredictedLabel"];
        var key = Assert.IsType<KeyDataViewType>(predicted.Type);
        Assert.Equal((ulong)TinyClasses, key.Count);
        Assert.Equal(typeof(uint), key.RawType);
        VBuffer<ReadOnlyMemory<char>> keyValues = default;
        predicted.Annotations.GetValue("KeyValues", ref keyValues);
        Assert.Equal(TinyNames, keyValues.DenseValues().Select(m => m.ToString()));
        Assert.Null(scored.Schema.GetColumnOrNull("PredictedIndex"));
        Assert.Null(scored.Schema.GetColumnOrNull("PredictedIndex.Hash"));
        Assert.Equal(new[] { "Features", "Label", "PredictedLabel", "Score" }, scored.Schema.Where(c => !c.IsHidden).Select(c => c.Name).OrderBy(n => n, StringComparer.Ordinal));

        // As one step of a longer user pipeline (the chain asks the estimator for its output schema).
        var longer = ml.Transforms.CopyColumns("LabelCopy", "Label").Append(estimator).Append(ml.Transforms.Conversion.MapKeyToValue("PredictedName", "PredictedLabel"));
        var names = ml.Data.CreateEnumerable<NamedPrediction>(longer.Fit(data).Transform(data), reuseRowObject: false).Select(r => r.PredictedName);
        Assert.Equal(argmax.Select(a => TinyNames[a]), names);

        var metrics = ml.MulticlassClassification.Evaluate(scored);
        Assert.Contains("bee", metrics.ConfusionMatrix.GetFormattedConfusionTable());
        double expectedLogLoss = rows.Select((r, i) => -Math.Log(probs[i][r.Label])).Average();
        _log.WriteLine($"Evaluate: accuracy {metrics.MicroAccuracy}, log-loss {metrics.LogLoss:F6} (TorchSharp {expectedLogLoss:F6})");
        Assert.Equal(0.5, metrics.MicroAccuracy, 12);
        Assert.Equal(expectedLogLoss, metrics.LogLoss, 4);

        var output = ml.Data.CreateEnumerable<TinyPrediction>(scored, reuseRowObject: false).ToArray();
        Assert.InRange(MaxDiff(output.Select(o => o.Score).ToArray(), probs), 0, OrtParity.Tolerance);
        Assert.Equal(argmax.Select(a => (uint)a + 1), output.Select(o => o.PredictedLabel));

        using var engine = ml.Model.CreatePredictionEngine<TinyRow, TinyPrediction>(model);
        for (int i = 0; i < 3; i++)
        {
            var p = engine.Predict(new TinyRow { Features = images[i] });
            Assert.Equal((uint)argmax[i] + 1, p.PredictedLabel);
            Assert.InRange(MaxDiff(new[] { p.Score }, new[] { probs[i] }), 0, OrtParity.Tolerance);
        }
    }

    [Fact]
    public void WrongFeaturesAndWrongModelsFailWithClearMessages()
    {
        var ml = new MLContext(seed: 1);
        var net = Randomized(Tiny(), "e2:3,5|e2:5,7|e4:3,3,5,7", seed: 34);
        string plain = Path.Combine(_dir, "plain.onnx");
        ChildNetworkOnnxExporter.Save(net, plain); // logits only, 4-D input
        var noInput = Assert.Throws<InvalidDataException>(() => OnnxClassifierPipeline.Create(ml, plain, TinyClasses));
        Assert.Contains("no input 'Features'", noInput.Message);

        string logitsOnly = Path.Combine(_dir, "logits.onnx");
        ChildNetworkOnnxExporter.Save(net, logitsOnly, new ChildNetworkOnnxExportOptions { InputName = "Features", FlattenInput = true });
        var noScore = Assert.Throws<InvalidDataException>(() => OnnxClassifierPipeline.Create(ml, logitsOnly, TinyClasses));
        Assert.Contains("no output 'Score'", noScore.Message);

        string good = Path.Combine(_dir, "good.onnx");
        ChildNetworkOnnxExporter.Save(net, good, ChildNetworkOnnxExportOptions.ForMLNet(ChannelNormalization.Cifar10));
        var wrongK = Assert.Throws<InvalidDataException>(() => OnnxClassifierPipeline.Create(ml, good, TinyClasses + 1));
        Assert.Contains("K = 6", wrongK.Message);
        Assert.Throws<ArgumentException>(() => OnnxClassifierPipeline.Create(ml, good, TinyClasses, new[] { "a", "b", "a", "c", "d" }));
        Assert.Throws<FileNotFoundException>(() => OnnxClassifierPipeline.Create(ml, Path.Combine(_dir, "missing.onnx"), TinyClasses));

        var estimator = OnnxClassifierPipeline.Create(ml, good, TinyClasses);
        var wrongSize = ml.Data.LoadFromEnumerable(new[] { new ShortRow { Features = new float[10] } });
        var ex = Assert.Throws<ArgumentException>(() => estimator.Fit(wrongSize));
        Assert.Contains("Features", ex.Message);
        Assert.Contains(TinyFeatures.ToString(), ex.Message);
    }

    /// <summary>
    /// docs/design.md §6 end to end: fashion-small network → model.zip → a separate process that references
    /// ML.NET and ONNX Runtime only scores the same images as TorchSharp.
    /// </summary>
    [Fact]
    public void SavedZipScoresInAProcessWithoutTorchSharp()
    {
        string predictDir = PredictApp.Directory;
        string predictDll = PredictApp.Dll;
        Assert.True(File.Exists(predictDll), $"{predictDll} was not built.");
        var leaked = Directory.GetFiles(predictDir, "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName)
            .Where(n => n!.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase) || n.Contains("torch", StringComparison.OrdinalIgnoreCase)
                        || n.StartsWith("Sgnas.Core", StringComparison.Ordinal) || n.StartsWith("Sgnas.MLNet", StringComparison.Ordinal))
            .ToArray();
        Assert.Empty(leaked);
        string deps = File.ReadAllText(Path.Combine(predictDir, "Sgnas.Predict.deps.json"));
        Assert.DoesNotContain("TorchSharp", deps, StringComparison.OrdinalIgnoreCase);

        var preset = SearchSpacePreset.Load("fashion-small");
        var net = Randomized(preset, ArchitectureCodec.ToText(new ArchitectureSampler(preset, 9).Sample()), seed: 35);
        var norm = ChannelNormalization.FashionMnist;
        var ml = new MLContext(seed: 1);
        const int features = 28 * 28;
        var images = Pixels(6, features, seed: 8);
        Spread(net, norm, images);
        var estimator = OnnxClassifierPipeline.Create(ml, net, norm, _dir, FashionMnist.ClassNames);
        Assert.Equal(features, estimator.FeatureCount);
        var (_, probs, argmax) = Reference(net, norm, images);
        Assert.True(argmax.Distinct().Count() >= 2, $"test images should reach several classes, got {string.Join(",", argmax)}");
        var schema = SchemaDefinition.Create(typeof(FlexibleRow));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        var data = ml.Data.LoadFromEnumerable(images.Select(f => new FlexibleRow { Features = f }), schema);
        var model = estimator.Fit(data);
        string zip = Path.Combine(_dir, "model.zip");
        OnnxClassifierPipeline.Save(ml, model, data.Schema, zip);
        File.Delete(Path.Combine(_dir, "model.onnx")); // the .zip must carry the ONNX bytes itself

        string input = Path.Combine(_dir, "images.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { features = images }));
        var (exit, stdout, stderr) = PredictApp.Run("--model", zip, "--input", input, "--json");
        Assert.True(exit == 0, $"Sgnas.Predict exited {exit}: {stderr}");

        using var doc = JsonDocument.Parse(stdout);
        var scores = doc.RootElement.GetProperty("scores").EnumerateArray()
            .Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        var labels = doc.RootElement.GetProperty("predictedLabels").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var names = doc.RootElement.GetProperty("classNames").EnumerateArray().Select(v => v.GetString()!).ToArray();
        double diff = MaxDiff(scores, probs);
        _log.WriteLine($"separate process: max |ML.NET - TorchSharp softmax| = {diff:E2}; predicted {string.Join(",", labels)}");
        for (int i = 0; i < probs.Length; i++)
            _log.WriteLine($"image {i}: TorchSharp [{string.Join(", ", probs[i].Select(v => v.ToString("G6")))}] ML.NET [{string.Join(", ", scores[i].Select(v => v.ToString("G6")))}]");
        Assert.InRange(diff, 0, OrtParity.Tolerance);
        Assert.Equal(argmax, labels);
        Assert.Equal(FashionMnist.ClassNames, names);

        // Issue 13 case 8: a truncated model.zip gave an unhandled FormatException with a stack trace.
        byte[] bytes = File.ReadAllBytes(zip);
        foreach (var (name, damaged) in new[] { ("truncated.zip", bytes[..(bytes.Length / 2)]), ("garbage.zip", "not a zip"u8.ToArray()) })
        {
            string path = Path.Combine(_dir, name);
            File.WriteAllBytes(path, damaged);
            var (code, _, err) = PredictApp.Run("--model", path, "--input", input, "--json");
            Assert.Equal(1, code);
            Assert.Single(err.Trim().Split('\n'));
            Assert.Contains("not a readable ML.NET model", err);
            Assert.Contains(name, err);
        }
    }

    private sealed class TinyRow
    {
        [VectorType(TinyFeatures)]
        public float[] Features { get; set; } = Array.Empty<float>();

        [KeyType(TinyClasses)]
        public uint Label { get; set; }
    }

    private sealed class TinyPrediction
    {
        public float[] Score { get; set; } = Array.Empty<float>();

        public uint PredictedLabel { get; set; }
    }

    private sealed class NamedPrediction
    {
        public string PredictedName { get; set; } = "";
    }

    private sealed class ShortRow
    {
        [VectorType(10)]
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    private sealed class FlexibleRow
    {
        public float[] Features { get; set; } = Array.Empty<float>();
    }
}
