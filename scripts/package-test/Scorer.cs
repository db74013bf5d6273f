// Scoring app of scripts/package-test.sh: a second app, with NO TorchSharp and no Sgnas package, only Microsoft.ML,
// Microsoft.ML.ImageAnalytics and Microsoft.ML.OnnxTransformer, that loads the consumer's model.zip and scores a
// JPEG by its path, as Model Builder's consumption code does.
//   Scorer <model.zip> <image>
using Microsoft.ML;

var ml = new MLContext();
// Model.Load finds transformers in assemblies registered with the catalog; these two are referenced only here.
ml.ComponentCatalog.RegisterAssembly(typeof(Microsoft.ML.Transforms.Onnx.OnnxTransformer).Assembly);
ml.ComponentCatalog.RegisterAssembly(typeof(Microsoft.ML.Data.ImageLoadingTransformer).Assembly);
var model = ml.Model.Load(args[0], out _);
var engine = ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
var output = engine.Predict(new ModelInput { ImagePath = args[1] });
if (string.IsNullOrEmpty(output.PredictedLabel) || Math.Abs(output.Score.Sum() - 1f) > 1e-3f)
    throw new Exception($"bad prediction '{output.PredictedLabel}' (scores sum {output.Score.Sum()})");
if (AppDomain.CurrentDomain.GetAssemblies().Any(a => a.GetName().Name is "TorchSharp" or "Sgnas.Core" or "Sgnas.MLNet"))
    throw new Exception("the scorer loaded TorchSharp or a Sgnas assembly");
Console.WriteLine($"ok scorer without TorchSharp: {Path.GetFileName(args[1])} -> {output.PredictedLabel} ({output.Score.Max():P1})");
return 0;

public sealed class ModelInput { public string ImagePath { get; set; } = ""; }
public sealed class ModelOutput
{
    public string PredictedLabel { get; set; } = "";
    public float[] Score { get; set; } = [];
}
