// Consumer app of scripts/package-test.sh: built OUTSIDE the repository, referencing Sgnas.MLNet only as a package
// from a local feed. What a new user does: TorchSharp loads (the packages' buildTransitive native fix), a supernet
// runs forward, SgnasSearch trains on a folder of the user's own JPEGs (a tiny search space), the model is saved in
// the Model Builder form (image path in, class name out). Exit code 0 = pass; every check prints "ok ..." or throws.
//   Consumer <work folder> [--forward-only] [--preset tiny-28.json]
using Microsoft.ML;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.MLNet;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Onnx;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using SkiaSharp;
using TorchSharp;

string work = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "sgnas-consumer"));
bool forwardOnly = args.Contains("--forward-only");
int presetAt = Array.IndexOf(args, "--preset");
string presetPath = presetAt >= 0 ? args[presetAt + 1] : "tiny-28.json";
var clock = System.Diagnostics.Stopwatch.StartNew();

// 1. A supernet forward pass: loads LibTorchSharp and libtorch from this app's output folder.
var fashion = SearchSpacePreset.Load("fashion-small");
using (var supernet = new Supernet(fashion))
using (var x = torch.rand(2, fashion.InputChannels, fashion.InputSize, fashion.InputSize))
using (var logits = supernet.Forward(x, Architecture.Largest(fashion)))
{
    if (logits.shape[0] != 2 || logits.shape[1] != fashion.NumClasses)
        throw new Exception($"supernet logits have shape [{string.Join(", ", logits.shape)}]");
    Console.WriteLine($"ok supernet forward [{string.Join(", ", logits.shape)}] ({clock.Elapsed.TotalSeconds:F1} s)");
}
if (forwardOnly) return 0;

// 2. The user's own JPEGs: one folder per class (here 12 Fashion-MNIST training images per class, encoded as JPEG).
string images = Path.Combine(work, "jpegs");
var source = FashionMnist.LoadTrain();
var perClass = new int[source.ClassNames.Count];
for (int i = 0; i < source.Count && perClass.Min() < 12; i++)
{
    int label = source.Labels[i];
    if (perClass[label] >= 12) continue;
    string dir = Path.Combine(images, source.ClassNames[label].Replace('/', '-'));
    Directory.CreateDirectory(dir);
    using var bitmap = new SKBitmap(new SKImageInfo(28, 28, SKColorType.Gray8, SKAlphaType.Opaque));
    var pixels = source.GetImage(i).ToArray();
    for (int row = 0; row < 28; row++)
        System.Runtime.InteropServices.Marshal.Copy(pixels, row * 28, bitmap.GetPixels() + row * bitmap.RowBytes, 28);
    using var data = bitmap.Encode(SKEncodedImageFormat.Jpeg, 95);
    File.WriteAllBytes(Path.Combine(dir, $"{perClass[label]++}.jpg"), data.ToArray());
}
Console.WriteLine($"ok wrote {perClass.Sum()} JPEGs into {images}");

// 3. SgnasSearch from mlContext.MulticlassClassification.Trainers on the image folder, tiny stage budgets.
var ml = new MLContext(seed: 0);
var preset = SearchSpacePreset.Load(presetPath);
var train = ml.Data.LoadFromImageFolder(images, preset.InputSize, preset.InputSize, grayscale: preset.InputChannels == 1);
var trainer = ml.MulticlassClassification.Trainers.SgnasSearch(new SgnasSearch.Options
{
    Preset = presetPath,
    RunFolder = Path.Combine(work, "run"),
    Supernet = new SupernetTrainerOptions { Epochs = 1, BatchSize = 32 },
    Generator = new GeneratorOptions { Epochs = 1, BatchSize = 8, EvaluationTargets = 4, PriorBuckets = 4, EvaluationBatches = 1 },
    MaxGeneratorImages = 16,
    Retrain = new RetrainOptions { Epochs = 1, BatchSize = 32, Optimizer = RetrainOptimizer.Sgd },
});
var model = trainer.Fit(train);
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(train));
Console.WriteLine($"ok SgnasSearch fit: {model.Architecture}, {model.FlopsM:F3} M FLOPs, training accuracy {metrics.MicroAccuracy:F3}; " +
    string.Join(", ", model.Report!.StageSeconds.Select(kv => $"{kv.Key} {kv.Value:F1} s")));

// 4. Save the Model Builder form and check that it scores a JPEG by path and knows what it is.
string zip = Path.Combine(work, "model.zip");
model.SaveForImageFiles(ml, zip);
var info = SgnasModelInfo.Read(zip);
if (info.Architecture != model.Architecture.ToString() || info.ClassNames.Count != preset.NumClasses)
    throw new Exception($"model.zip metadata: {info}");
var engine = ml.Model.CreatePredictionEngine<ImageFileInput, ImageFilePrediction>(new MLContext().Model.Load(zip, out _));
string jpeg = Directory.EnumerateFiles(images, "*.jpg", SearchOption.AllDirectories).First();
var p = engine.Predict(new ImageFileInput { ImagePath = jpeg });
if (!info.ClassNames.Contains(p.PredictedLabel) || Math.Abs(p.Score.Sum() - 1f) > 1e-3f)
    throw new Exception($"prediction for {jpeg}: '{p.PredictedLabel}', scores sum {p.Score.Sum()}");
Console.WriteLine($"ok model.zip ({new FileInfo(zip).Length} bytes, {info.FlopsM:F3} M FLOPs) predicts '{p.PredictedLabel}' for {jpeg}");
return 0;
