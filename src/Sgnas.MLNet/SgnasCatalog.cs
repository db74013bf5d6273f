using Microsoft.ML;
using Sgnas.MLNet.Pipeline;

namespace Sgnas.MLNet;

/// <summary>
/// Catalog entry points (ML.NET convention: thin forwards to the estimators, one implementation each). The
/// classifiers (<see cref="MLNet.SgnasSearch"/>, <see cref="MLNet.ArchitectureRetrainer"/>, <see cref="MLNet.SupernetTrainer"/>)
/// are on <c>mlContext.MulticlassClassification.Trainers</c>, where ML.NET users look for classifiers, and on
/// <c>mlContext.Transforms</c>; the generator search is on <c>mlContext.Transforms</c>. An estimator made through a
/// catalog takes its seed (where the options leave <see cref="SgnasEstimatorOptions.Seed"/> null) and its log
/// (<c>MLContext.Log</c>) from that catalog's MLContext. Image loaders are on <c>mlContext.Data</c>
/// (<see cref="Data.SgnasDataCatalog"/>).
/// </summary>
public static class SgnasCatalog
{
    // ---- mlContext.MulticlassClassification.Trainers ----

    /// <summary>
    /// The whole SGNAS flow as a multiclass trainer: supernet, generator, generation for a FLOPs budget, retraining,
    /// ONNX export. Outputs <c>Score</c> and <c>PredictedLabel</c> like ML.NET's multiclass trainers.
    /// </summary>
    public static SgnasSearch SgnasSearch(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, SgnasSearch.Options options) =>
        new(options) { Host = SgnasHost.FromCatalog(catalog) };

    /// <summary>The whole SGNAS flow as a multiclass trainer, with the usual column-name arguments.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Raw-pixel feature vector column (C·H·W, values 0..255).</param>
    /// <param name="targetFlopsM">FLOPs budget in M; null uses the middle of the preset's interval.</param>
    /// <param name="preset">Search-space preset name or JSON path.</param>
    /// <param name="runFolder">Where checkpoints and the ONNX model go; null creates a fresh one per Fit under sgnas-runs/.</param>
    public static SgnasSearch SgnasSearch(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string featureColumnName = "Features", double? targetFlopsM = null,
        string preset = "fashion-small", string? runFolder = null) =>
        catalog.SgnasSearch(SearchOptions(labelColumnName, featureColumnName, targetFlopsM, preset, runFolder));

    /// <summary>Stage 3 as a multiclass trainer: retrain a given architecture from scratch.</summary>
    public static ArchitectureRetrainer ArchitectureRetrainer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        ArchitectureRetrainer.Options options) =>
        new(options) { Host = SgnasHost.FromCatalog(catalog) };

    /// <summary>Stage 3 as a multiclass trainer, with the usual column-name arguments.</summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="architecture">The architecture in text form (e.g. from GeneratorSearch or <c>sgnas generate</c>).</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Raw-pixel feature vector column.</param>
    /// <param name="preset">Search-space preset name or JSON path.</param>
    /// <param name="epochs">Retraining epochs; null keeps the paper's default.</param>
    public static ArchitectureRetrainer ArchitectureRetrainer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string architecture, string labelColumnName = "Label", string featureColumnName = "Features", string preset = "fashion-small",
        int? epochs = null)
    {
        var o = new ArchitectureRetrainer.Options
        {
            Architecture = architecture, LabelColumnName = labelColumnName, FeatureColumnName = featureColumnName, Preset = preset,
        };
        if (epochs is int e) o.Training = o.Training with { Epochs = e };
        return catalog.ArchitectureRetrainer(o);
    }

    /// <summary>Stage 1 as a multiclass trainer: the supernet, scoring with one of its paths.</summary>
    public static SupernetTrainer SupernetTrainer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        SupernetTrainer.Options options) =>
        new(options) { Host = SgnasHost.FromCatalog(catalog) };

    // ---- mlContext.Transforms ----

    /// <summary>The whole SGNAS flow: supernet, generator, generation for a FLOPs budget, retraining, ONNX export.</summary>
    public static SgnasSearch SgnasSearch(this TransformsCatalog catalog, SgnasSearch.Options options) =>
        new(options) { Host = SgnasHost.FromCatalog(catalog) };

    /// <summary>The whole SGNAS flow with the key arguments.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="targetFlopsM">FLOPs budget in M; null uses the middle of the preset's interval.</param>
    /// <param name="preset">Search-space preset name or JSON path.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Raw-pixel feature vector column.</param>
    /// <param name="runFolder">Where checkpoints and the ONNX model go; null creates a fresh one per Fit under sgnas-runs/.</param>
    public static SgnasSearch SgnasSearch(this TransformsCatalog catalog, double? targetFlopsM = null, string preset = "fashion-small",
        string labelColumnName = "Label", string featureColumnName = "Features", string? runFolder = null) =>
        catalog.SgnasSearch(SearchOptions(labelColumnName, featureColumnName, targetFlopsM, preset, runFolder));

    /// <summary>Stage 1: train the unified supernet.</summary>
    public static SupernetTrainer SupernetTrainer(this TransformsCatalog catalog, SupernetTrainer.Options options) =>
        new(options) { Host = SgnasHost.FromCatalog(catalog) };

    /// <summary>Stage 2: train the architecture generator on a trained supernet.</summary>
    public static GeneratorSearch GeneratorSearch(this TransformsCatalog catalog, GeneratorSearch.Options options) =>
        new(options) { Host = SgnasHost.FromCatalog(catalog) };

    /// <summary>Stage 3: retrain an architecture from scratch and score with it.</summary>
    public static ArchitectureRetrainer ArchitectureRetrainer(this TransformsCatalog catalog, ArchitectureRetrainer.Options options) =>
        new(options) { Host = SgnasHost.FromCatalog(catalog) };

    private static SgnasSearch.Options SearchOptions(string label, string features, double? target, string preset, string? runFolder) => new()
    {
        TargetFlopsM = target, Preset = preset, LabelColumnName = label, FeatureColumnName = features, RunFolder = runFolder,
    };
}
