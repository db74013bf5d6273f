using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Sgnas.IO;

namespace Sgnas.MLNet.Onnx;

/// <summary>Input row of an image-file model (Model Builder's <c>ModelInput</c>): the path of one image.</summary>
public sealed class ImageFileInput
{
    /// <summary>Path of a PNG, JPEG or BMP file; relative paths are resolved against the current directory.</summary>
    public string ImagePath { get; set; } = "";
}

/// <summary>Output row of an image-file model (Model Builder's <c>ModelOutput</c>).</summary>
public sealed class ImageFilePrediction
{
    /// <summary>The predicted class name.</summary>
    public string PredictedLabel { get; set; } = "";
    /// <summary>Class probabilities in class-index order (the order of <see cref="SgnasModelInfo.ClassNames"/>).</summary>
    public float[] Score { get; set; } = [];
}

/// <summary>Options of <see cref="ImageFileClassifier"/>.</summary>
public sealed record ImageFileClassifierOptions
{
    /// <summary>Input column with image paths.</summary>
    public string ImagePathColumnName { get; init; } = "ImagePath";
    /// <summary>Folder relative paths are resolved against; null: as given (the current directory).</summary>
    public string? ImageFolder { get; init; }
    /// <summary>
    /// How images are brought to the network's input size; the default matches
    /// <c>LoadFromImageFolder</c>, so a model trained on an image folder sees the same pixels when it scores a file.
    /// </summary>
    public ImageResizingEstimator.ResizingKind Resizing { get; init; } = ImageResizingEstimator.ResizingKind.IsoCrop;
}

/// <summary>
/// The Model Builder path: an ML.NET model that takes an image FILE and returns the class NAME. The saved chain is
/// ML.NET's own LoadImages → ResizeImages → (ConvertToGrayscale) → ExtractPixels, then the ONNX scorer of
/// <see cref="OnnxClassifierPipeline"/>, then MapKeyToValue, so an app loads the .zip with Microsoft.ML,
/// Microsoft.ML.ImageAnalytics and Microsoft.ML.OnnxTransformer alone (no TorchSharp, no Sgnas assembly) and calls
/// <c>PredictionEngine&lt;ModelInput, ModelOutput&gt;.Predict(new ModelInput { ImagePath = ... })</c>. Size, channels
/// and class names come from the ONNX model's metadata (<see cref="SgnasModelInfo"/>); pixels are extracted exactly as
/// <c>LoadFromImageFolder</c> extracts them for training (raw 0..255, CHW, gray = red channel of the gray image).
/// </summary>
public static class ImageFileClassifier
{
    private const string Loaded = "Sgnas.LoadedImage", Resized = "Sgnas.ResizedImage", Gray = "Sgnas.GrayImage";

    /// <summary>The estimator of the chain for <paramref name="onnxPath"/> (an export with SGNAS metadata).</summary>
    public static IEstimator<ITransformer> Create(MLContext mlContext, string onnxPath, ImageFileClassifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        var o = options ?? new ImageFileClassifierOptions();
        var info = SgnasModelInfo.Read(onnxPath);
        bool gray = info.InputChannels == 1;
        var scorer = OnnxClassifierPipeline.Create(mlContext, onnxPath, info.ClassNames.Count, info.ClassNames);
        string features = scorer.Options.FeaturesColumnName;
        IEstimator<ITransformer> chain = mlContext.Transforms.LoadImages(Loaded, o.ImageFolder, o.ImagePathColumnName)
            .Append(mlContext.Transforms.ResizeImages(Resized, info.InputSize, info.InputSize, Loaded, o.Resizing));
        string last = Resized;
        if (gray) chain = chain.Append(mlContext.Transforms.ConvertToGrayscale(last = Gray, Resized));
        return chain
            .Append(mlContext.Transforms.ExtractPixels(features, last,
                gray ? ImagePixelExtractingEstimator.ColorBits.Red : ImagePixelExtractingEstimator.ColorBits.Rgb, interleavePixelColors: false))
            .Append(mlContext.Transforms.DropColumns(gray ? [Loaded, Resized, Gray] : [Loaded, Resized]))
            .Append(scorer)
            .Append(mlContext.Transforms.Conversion.MapKeyToValue(scorer.Options.PredictedLabelColumnName))
            .Append(mlContext.Transforms.DropColumns(features));
    }

    /// <summary>Fits the chain (nothing is learned: the network is trained) on the schema of <see cref="ImageFileInput"/>.</summary>
    public static ITransformer Fit(MLContext mlContext, string onnxPath, out DataViewSchema inputSchema, ImageFileClassifierOptions? options = null)
    {
        var o = options ?? new ImageFileClassifierOptions();
        var schema = SchemaDefinition.Create(typeof(ImageFileInput));
        schema[nameof(ImageFileInput.ImagePath)].ColumnName = o.ImagePathColumnName;
        var empty = mlContext.Data.LoadFromEnumerable(Array.Empty<ImageFileInput>(), schema);
        inputSchema = empty.Schema;
        return Create(mlContext, onnxPath, o).Fit(empty);
    }

    /// <summary>Fits the chain and saves it as an ML.NET .zip (atomically).</summary>
    public static void Save(MLContext mlContext, string onnxPath, string zipPath, ImageFileClassifierOptions? options = null)
    {
        var model = Fit(mlContext, onnxPath, out var schema, options);
        AtomicFile.Write(zipPath, s => mlContext.Model.Save(model, schema, s));
    }
}
