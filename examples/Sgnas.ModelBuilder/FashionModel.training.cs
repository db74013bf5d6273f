// Training half, as Model Builder generates it (<Model>.training.cs): the pipeline, Train(outputModelPath, data),
// and the save. SGNAS finds the architecture for the FLOPs budget, trains it, and the saved .zip takes image paths.
using Microsoft.ML;
using Sgnas.MLNet;
using Sgnas.MLNet.Data;
using Sgnas.Training;

namespace Sgnas.ModelBuilder;

public partial class FashionModel
{
    /// <summary>Trains on an image-folder tree (one sub-folder per class) and saves the image-path model.</summary>
    /// <param name="outputModelPath">The model.zip to write.</param>
    /// <param name="imageFolder">Folder of class sub-folders with the user's images.</param>
    /// <param name="targetFlopsM">FLOPs budget in M; null uses the middle of the preset's interval.</param>
    /// <param name="runFolder">Where the SGNAS stages checkpoint.</param>
    /// <param name="quick">Smoke-test stage budgets (minutes, not accuracy).</param>
    public static SgnasModel Train(string outputModelPath, string imageFolder, double? targetFlopsM, string runFolder, bool quick)
    {
        var ml = new MLContext(seed: 0);
        // Fashion-MNIST's geometry (fashion-small preset): 28×28, one channel; other images are resized to it.
        var data = ml.Data.LoadFromImageFolder(imageFolder, 28, 28, grayscale: true);
        var model = BuildPipeline(ml, targetFlopsM, runFolder, quick).Fit(data);
        SaveModel(ml, model, outputModelPath);
        return model;
    }

    /// <summary>The training pipeline: one SGNAS trainer from the multiclass catalog.</summary>
    public static IEstimator<SgnasModel> BuildPipeline(MLContext ml, double? targetFlopsM, string runFolder, bool quick)
    {
        var options = new SgnasSearch.Options
        {
            Preset = "fashion-small",
            TargetFlopsM = targetFlopsM,
            RunFolder = runFolder,
            Progress = new Progress<TrainingProgress>(p =>
            {
                if (p.EpochDone) Console.WriteLine($"[{p.Stage}] epoch {p.Epoch}/{p.Epochs} " +
                                                   string.Join(" ", p.Metrics.Select(m => $"{m.Key}={m.Value:F4}")));
            }),
        };
        if (quick)
        {
            options.Supernet = options.Supernet with { Epochs = 1 };
            options.Generator = options.Generator with { Epochs = 1 };
            options.Retrain = options.Retrain with { Epochs = 3 };
        }
        return ml.MulticlassClassification.Trainers.SgnasSearch(options);
    }

    /// <summary>Saves the Model Builder form: image path in, class name and scores out.</summary>
    public static void SaveModel(MLContext ml, SgnasModel model, string modelSavePath) => model.SaveForImageFiles(ml, modelSavePath);
}
