// SgnasSearch inside a larger ML.NET pipeline, and one trained generator answering many budgets:
//   dotnet run --project examples/Sgnas.PipelineExample -- [--out runs/pipeline] [--quick]
using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;
using Sgnas.MLNet;
using Sgnas.MLNet.Data;

string outDir = Path.Combine("runs", "pipeline-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss"));
bool quick = args.Contains("--quick");
for (int i = 0; i < args.Length; i++) if (args[i] == "--out") outDir = args[++i];

var ml = new MLContext(seed: 1);
var train = ml.Data.LoadFromFashionMnist(DatasetSplit.Train);
var test = ml.Data.LoadFromFashionMnist(DatasetSplit.Test);

var search = new SgnasSearch.Options { RunFolder = outDir, TargetFlopsM = 3.0 };
if (quick)
{
    search.Supernet = search.Supernet with { Epochs = 1, MaxTrainImages = 3000 };
    search.Generator = search.Generator with { Epochs = 1 };
    search.Retrain = search.Retrain with { Epochs = 3, MaxTrainImages = 6000 };
}

// A larger pipeline: keep the true class name, search + train the network, and turn the predicted key back into
// the class name. Everything after Fit is stock ML.NET plus the ONNX transformer, so it saves into one .zip.
var pipeline = ml.Transforms.Conversion.MapKeyToValue("TrueClass", "Label")
    .Append(ml.Transforms.SgnasSearch(search))
    .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"));
var model = pipeline.Fit(train);
var scored = model.Transform(test);
var metrics = ml.MulticlassClassification.Evaluate(scored);
Console.WriteLine($"pipeline test accuracy {metrics.MicroAccuracy:P2}");
foreach (var row in ml.Data.CreateEnumerable<Named>(ml.Data.TakeRows(scored, 5), reuseRowObject: false))
    Console.WriteLine($"  true {row.TrueClass,-12} predicted {row.PredictedClass}");
ml.Model.Save(model, train.Schema, Path.Combine(outDir, "pipeline.zip"));

// The generator trained by the search answers any list of budgets in one batched forward pass.
using var generator = GeneratorTransformer.Load(outDir, hardLimit: true);
var budgets = ml.Data.LoadFromEnumerable(new[] { 1.8f, 2.4f, 3.0f, 3.6f, 4.2f, 4.8f }.Select(b => new Budget { TargetFlopsM = b }));
foreach (var r in ml.Data.CreateEnumerable<Generated>(generator.Transform(budgets), reuseRowObject: false))
    Console.WriteLine($"  budget {r.TargetFlopsM,4:F1} M -> {r.FlopsM,6:F3} M, {r.ParamsM:F4} M params  {r.Architecture}");
return 0;

public sealed class Named
{
    public string TrueClass { get; set; } = "";
    public string PredictedClass { get; set; } = "";
}

public sealed class Budget
{
    public float TargetFlopsM { get; set; }
}

public sealed class Generated
{
    public float TargetFlopsM { get; set; }
    public string Architecture { get; set; } = "";
    public double FlopsM { get; set; }
    public double ParamsM { get; set; }
}
