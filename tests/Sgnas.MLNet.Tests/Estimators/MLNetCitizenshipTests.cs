using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Onnx;
using Sgnas.MLNet.Pipeline;
using Sgnas.MLNet.Tests.Data;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.MLNet.Tests.Estimators;

/// <summary>
/// ML.NET conventions: Fit is repeatable and leaves the caller's options alone, CrossValidate works, the trainers are
/// in MulticlassClassification.Trainers, seed and log come from the MLContext, a saved model takes an image FILE and
/// returns the class NAME, and the ONNX model inside carries what the network is.
/// </summary>
public sealed class MLNetCitizenshipTests : IDisposable
{
    private readonly TempDir _dir = new();
    private const string Arch = "e2:3,5|e3:3,5,7";
    private static readonly string[] Classes = ["cat", "dog", "owl"];

    public void Dispose() => _dir.Dispose();

    /// <summary>A 3-class, 8×8 gray search space as a preset JSON file (the estimators take a name or a path).</summary>
    private string TinyPreset()
    {
        var p = new SearchSpacePreset
        {
            Name = "tiny", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
            FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
            Mean = new[] { 0.5f }, Std = new[] { 0.25f },
        };
        string path = Path.Combine(_dir.Root, "tiny.json");
        File.WriteAllText(path, p.ToJson());
        return path;
    }

    /// <summary>A PNG tree: per class 8 gray 8×8 images whose brightness pattern depends on the class (learnable).</summary>
    private string PngTree()
    {
        var r = new Random(3);
        for (int c = 0; c < Classes.Length; c++)
            for (int i = 0; i < 8; i++)
            {
                var px = new byte[64];
                for (int k = 0; k < 64; k++)
                {
                    bool on = c switch { 0 => k % 8 < 4, 1 => k / 8 < 4, _ => (k % 8 + k / 8) % 2 == 0 };
                    px[k] = (byte)Math.Clamp((on ? 200 : 40) + r.Next(-20, 21), 0, 255);
                }
                _dir.Write(Path.Combine("images", Classes[c], $"{i}.png"), PngWriter.Encode(px, 1, 8, 8));
            }
        return Path.Combine(_dir.Root, "images");
    }

    private ArchitectureRetrainer.Options RetrainOptions(string preset, string? runFolder) => new()
    {
        Preset = preset, Architecture = Arch, RunFolder = runFolder,
        Training = new RetrainOptions { Epochs = 1, BatchSize = 8, WarmupEpochs = 0.5, ValidationFraction = 0.25 },
    };

    [Fact]
    public void SeedAndLogComeFromTheCatalogsMLContext()
    {
        Assert.Equal(7, SgnasHost.FromCatalog(new MLContext(seed: 7).MulticlassClassification.Trainers).Seed);
        Assert.Equal(11, SgnasHost.FromCatalog(new MLContext(seed: 11).Transforms).Seed);
        Assert.Null(SgnasHost.FromCatalog(new MLContext().Transforms).Seed);
        Assert.True(SgnasHost.FromCatalog(new MLContext().Transforms).HasLog);

        var ml = new MLContext(seed: 5);
        var messages = new List<string>();
        ml.Log += (_, e) => { lock (messages) messages.Add(e.Message); };
        SgnasHost.FromCatalog(ml.MulticlassClassification.Trainers).Info("test", "hello from sgnas");
        Assert.Contains(messages, m => m.Contains("hello from sgnas") && m.Contains("Sgnas.test"));
    }

    [Fact]
    public void RepeatedFitLeavesOptionsAloneAndNeverReusesAFinishedRunFolder()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageFolder(PngTree(), 8, 8, grayscale: true);
        string folder = Path.Combine(_dir.Root, "run");
        var options = RetrainOptions(TinyPreset(), folder);
        var estimator = ml.MulticlassClassification.Trainers.ArchitectureRetrainer(options);

        var first = estimator.Fit(data);
        byte[] firstOnnx = File.ReadAllBytes(first.Run.Onnx);
        var second = estimator.Fit(data);

        Assert.Equal(folder, options.RunFolder);            // never written back
        Assert.Null(options.Seed);
        Assert.Equal(folder, first.Run.Root);
        Assert.Equal(folder + "-2", second.Run.Root);        // the finished run stays as it was
        Assert.Equal(firstOnnx, File.ReadAllBytes(first.Run.Onnx));
        // Same seed (the context's), same data: the two fits train the same network.
        Assert.Equal(firstOnnx.Length, File.ReadAllBytes(second.Run.Onnx).Length);

        // Without a run folder every Fit gets a fresh one, and the options stay null.
        var unnamed = RetrainOptions(options.Preset, null);
        unnamed.MaxTrainImages = 12;
        string cwd = Environment.CurrentDirectory;
        var a = ml.MulticlassClassification.Trainers.ArchitectureRetrainer(unnamed).Fit(data);
        var b = ml.MulticlassClassification.Trainers.ArchitectureRetrainer(unnamed).Fit(data);
        try
        {
            Assert.Null(unnamed.RunFolder);
            Assert.NotEqual(a.Run.Root, b.Run.Root);
            Assert.StartsWith(Path.Combine(cwd, "sgnas-runs"), a.Run.Root);
        }
        finally
        {
            Directory.Delete(a.Run.Root, true);
            Directory.Delete(b.Run.Root, true);
        }
    }

    [Fact]
    public void CrossValidateWithTwoFoldsFitsTwiceAndLogsThroughTheContext()
    {
        var ml = new MLContext(seed: 1);
        var messages = new List<string>();
        ml.Log += (_, e) => { if (e.Message.Contains("Sgnas.")) lock (messages) messages.Add(e.Message); };
        var data = ml.Data.LoadFromImageFolder(PngTree(), 8, 8, grayscale: true);
        string folder = Path.Combine(_dir.Root, "cv");
        var options = RetrainOptions(TinyPreset(), folder);

        var folds = ml.MulticlassClassification.CrossValidate(data, ml.MulticlassClassification.Trainers.ArchitectureRetrainer(options), numberOfFolds: 2);

        Assert.Equal(2, folds.Count);
        Assert.All(folds, f => Assert.InRange(f.Metrics.MicroAccuracy, 0, 1));
        var runs = folds.Select(f => ((SgnasModel)f.Model).Run.Root).ToArray();
        Assert.Equal(2, runs.Distinct().Count());
        Assert.All(runs, r => Assert.True(File.Exists(Path.Combine(r, "model.onnx")), r));
        Assert.Equal(folder, options.RunFolder);
        Assert.Contains(messages, m => m.Contains("Sgnas.retrain") && m.Contains("epoch 1/1"));
    }

    [Fact]
    public void ImageFileModelTakesAPathAndReturnsTheClassNameWithTheFeaturePathsScores()
    {
        var ml = new MLContext(seed: 0);
        string root = PngTree();
        var data = ml.Data.LoadFromImageFolder(root, 8, 8, grayscale: true);
        var model = ml.MulticlassClassification.Trainers.ArchitectureRetrainer(RetrainOptions(TinyPreset(), Path.Combine(_dir.Root, "run"))).Fit(data);

        // Metadata: in model.onnx and in the .zip, equal to what the fitted model reports.
        string zip = Path.Combine(_dir.Root, "image-model.zip");
        model.SaveForImageFiles(ml, zip);
        foreach (var info in new[] { model.Info, SgnasModelInfo.Read(zip) })
        {
            Assert.Equal(model.Architecture.ToString(), info.Architecture);
            Assert.Equal(model.FlopsM, info.FlopsM, 9);
            Assert.Equal(model.ParamsM, info.ParamsM, 9);
            Assert.Equal("tiny", info.Preset);
            Assert.Equal((1, 8), (info.InputChannels, info.InputSize));
            Assert.Equal(Classes, info.ClassNames);
        }

        // The feature path (loader pixels → ONNX scorer) is the reference for every file.
        var scored = model.Transform(data);
        var reference = scored.GetColumn<string>(ImageColumns.ImagePath)
            .Zip(scored.GetColumn<float[]>("Score"))
            .ToDictionary(p => p.First, p => p.Second);

        var loaded = new MLContext().Model.Load(zip, out var schema);
        Assert.Equal(TextDataViewType.Instance, schema["ImagePath"].Type);
        var engine = new MLContext().Model.CreatePredictionEngine<ModelInput, ModelOutput>(loaded);
        foreach (var (path, expected) in reference)
        {
            var p = engine.Predict(new ModelInput { ImagePath = path });
            Assert.Equal(Classes.Length, p.Score.Length);
            Assert.Equal(Classes[Array.IndexOf(p.Score, p.Score.Max())], p.PredictedLabel);
            Assert.True(expected.Zip(p.Score).All(q => Math.Abs(q.First - q.Second) <= 1e-5f),
                $"{path}: [{string.Join(", ", expected)}] vs [{string.Join(", ", p.Score)}]");
        }
    }

    [Fact]
    public void MetadataAppendKeepsTheModelValidAndIsReadBack()
    {
        var ml = new MLContext(seed: 0);
        var data = ml.Data.LoadFromImageFolder(PngTree(), 8, 8, grayscale: true);
        var model = ml.MulticlassClassification.Trainers.ArchitectureRetrainer(RetrainOptions(TinyPreset(), Path.Combine(_dir.Root, "run"))).Fit(data);
        string copy = Path.Combine(_dir.Root, "copy.onnx");
        File.Copy(model.Run.Onnx, copy);
        SgnasModelInfo.AppendMetadata(copy, new Dictionary<string, string> { ["extra.key"] = "välue" });
        var map = SgnasModelInfo.ReadMetadata(File.ReadAllBytes(copy), copy);
        Assert.Equal("välue", map["extra.key"]);
        Assert.Equal(model.Architecture.ToString(), map["sgnas.architecture"]);
        var err = Assert.Throws<InvalidDataException>(() => SgnasModelInfo.FromMetadata(new Dictionary<string, string>(), "x.onnx"));
        Assert.Contains("has no ONNX metadata entry 'sgnas.", err.Message);
    }

    /// <summary>Model Builder's generated input class.</summary>
    private sealed class ModelInput { public string ImagePath { get; set; } = ""; }

    /// <summary>Model Builder's generated output class.</summary>
    private sealed class ModelOutput
    {
        public string PredictedLabel { get; set; } = "";
        public float[] Score { get; set; } = [];
    }
}
