// Model-builder-style app: train an image classifier that fits a FLOPs budget on Fashion-MNIST, evaluate it, save
// it as an ML.NET model. Then run examples/Sgnas.Predict (no TorchSharp) to load the .zip and predict:
//   dotnet run --project examples/Sgnas.ModelBuilder -- [--flops 3] [--out runs/modelbuilder] [--quick]
//   dotnet run --project examples/Sgnas.Predict -- --model runs/modelbuilder/model.zip --idx /usr/share/datasets/fashion-mnist --count 20
using Microsoft.ML;
using Sgnas.Data;
using Sgnas.MLNet;
using Sgnas.MLNet.Data;
using Sgnas.Training;

double? flops = null;
string outDir = Path.Combine("runs", "modelbuilder-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
bool quick = false;
for (int i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--flops": flops = double.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
        case "--out": outDir = args[++i]; break;
        case "--quick": quick = true; break;
        default: Console.Error.WriteLine($"unknown argument {args[i]}; use --flops X, --out DIR, --quick"); return 2;
    }
}

var ml = new MLContext(seed: 0);

// 1. Data: Fashion-MNIST as IDataView (Label: key, Features: 784 raw pixels).
IDataView train = ml.Data.LoadFromFashionMnist(DatasetSplit.Train);
IDataView test = ml.Data.LoadFromFashionMnist(DatasetSplit.Test);

// 2. The estimator: one call runs supernet training, generator training, generation for the budget, retraining.
var options = new SgnasSearch.Options
{
    Preset = "fashion-small",
    TargetFlopsM = flops,
    RunFolder = outDir,
    TestData = test,
    Progress = new Progress<TrainingProgress>(p =>
    {
        if (p.EpochDone) Console.WriteLine($"[{p.Stage}] epoch {p.Epoch}/{p.Epochs} " +
                                           string.Join(" ", p.Metrics.Select(m => $"{m.Key}={m.Value:F4}")));
    }),
};
if (quick)
{
    // A smoke-test budget: minutes, not accuracy.
    options.Supernet = options.Supernet with { Epochs = 1, MaxTrainImages = 3000 };
    options.Generator = options.Generator with { Epochs = 1 };
    options.Retrain = options.Retrain with { Epochs = 3, MaxTrainImages = 6000 };
}
var model = ml.Transforms.SgnasSearch(options).Fit(train);

// 3. Evaluate like any ML.NET multiclass model.
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
Console.WriteLine($"architecture  {model.Architecture}");
Console.WriteLine($"FLOPs         {model.FlopsM:F3} M (budget {model.Report!.TargetFlopsM:F3} M), params {model.ParamsM:F4} M");
Console.WriteLine($"test accuracy {metrics.MicroAccuracy:P2}, macro {metrics.MacroAccuracy:P2}, log-loss {metrics.LogLoss:F3}");
Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());

// 4. Save: one .zip with the network inside (ONNX), loadable by mlContext.Model.Load without this library.
string zip = Path.Combine(outDir, "model.zip");
model.Save(ml, train.Schema, zip);
Console.WriteLine($"saved {zip}");

// 5. Predict one image through a PredictionEngine, as an app would.
var engine = ml.Model.CreatePredictionEngine<ImageInput, ImagePrediction>(ml.Model.Load(zip, out _));
var first = ml.Data.CreateEnumerable<ImageInput>(ml.Data.TakeRows(test, 1), reuseRowObject: false).First();
var prediction = engine.Predict(first);
Console.WriteLine($"first test image: predicted class {FashionMnist.ClassNames[(int)prediction.PredictedLabel - 1]} " +
                  $"(p = {prediction.Score.Max():P1})");
return 0;

/// <summary>Input row: 784 raw pixels of a 28×28 image.</summary>
public sealed class ImageInput
{
    [Microsoft.ML.Data.VectorType(28 * 28)] public float[] Features { get; set; } = new float[28 * 28];
}

/// <summary>Output row: class probabilities and the 1-based predicted key.</summary>
public sealed class ImagePrediction
{
    public float[] Score { get; set; } = [];
    public uint PredictedLabel { get; set; }
}
