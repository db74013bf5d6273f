// Consumption half, as Model Builder generates it (<Model>.consumption.cs): input and output classes, a lazily
// created prediction engine, Predict(imagePath). ML.NET alone: copy this file into any app that references
// Microsoft.ML, Microsoft.ML.ImageAnalytics and Microsoft.ML.OnnxTransformer, with model.zip beside it.
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Sgnas.ModelBuilder;

public partial class FashionModel
{
    /// <summary>Input: the path of one image (PNG, JPEG, BMP); the model decodes and resizes it itself.</summary>
    public class ModelInput
    {
        [ColumnName("ImagePath")]
        public string ImagePath { get; set; } = "";
    }

    /// <summary>Output: the class name and the class probabilities.</summary>
    public class ModelOutput
    {
        [ColumnName("PredictedLabel")]
        public string PredictedLabel { get; set; } = "";

        [ColumnName("Score")]
        public float[] Score { get; set; } = [];
    }

    /// <summary>Where the model is loaded from; set before the first Predict when it is not beside the app.</summary>
    public static string MLNetModelPath { get; set; } = Path.GetFullPath("model.zip");

    private static readonly Lazy<PredictionEngine<ModelInput, ModelOutput>> PredictEngine = new(CreatePredictEngine, isThreadSafe: true);

    /// <summary>Predicts the class of one image.</summary>
    public static ModelOutput Predict(ModelInput input) => PredictEngine.Value.Predict(input);

    /// <summary>Predicts the class of the image at <paramref name="imagePath"/>.</summary>
    public static ModelOutput Predict(string imagePath) => Predict(new ModelInput { ImagePath = imagePath });

    private static PredictionEngine<ModelInput, ModelOutput> CreatePredictEngine()
    {
        var ml = new MLContext();
        // Model.Load finds transformers in the assemblies registered with the catalog.
        ml.ComponentCatalog.RegisterAssembly(typeof(Microsoft.ML.Transforms.Onnx.OnnxTransformer).Assembly);
        ml.ComponentCatalog.RegisterAssembly(typeof(ImageLoadingTransformer).Assembly);
        var model = ml.Model.Load(MLNetModelPath, out _);
        return ml.Model.CreatePredictionEngine<ModelInput, ModelOutput>(model);
    }
}
