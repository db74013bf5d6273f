using Microsoft.ML;

namespace Sgnas.MLNet;

/// <summary>
/// Catalog entry points on <c>mlContext.Transforms</c> (ML.NET convention: thin forwards to the estimators).
/// Image loaders are on <c>mlContext.Data</c> (<see cref="Data.SgnasDataCatalog"/>).
/// </summary>
public static class SgnasCatalog
{
    /// <summary>The whole SGNAS flow: supernet, generator, generation for a FLOPs budget, retraining, ONNX export.</summary>
    public static SgnasSearch SgnasSearch(this TransformsCatalog catalog, SgnasSearch.Options options) => new(options);

    /// <summary>The whole SGNAS flow with the key arguments.</summary>
    /// <param name="catalog">The transforms catalog.</param>
    /// <param name="targetFlopsM">FLOPs budget in M; null uses the middle of the preset's interval.</param>
    /// <param name="preset">Search-space preset name or JSON path.</param>
    /// <param name="labelColumnName">Key-typed label column.</param>
    /// <param name="featureColumnName">Raw-pixel feature vector column.</param>
    /// <param name="runFolder">Where checkpoints and the ONNX model go; null creates one under sgnas-runs/.</param>
    public static SgnasSearch SgnasSearch(this TransformsCatalog catalog, double? targetFlopsM = null, string preset = "fashion-small",
        string labelColumnName = "Label", string featureColumnName = "Features", string? runFolder = null) =>
        new(new SgnasSearch.Options
        {
            TargetFlopsM = targetFlopsM, Preset = preset, LabelColumnName = labelColumnName,
            FeatureColumnName = featureColumnName, RunFolder = runFolder,
        });

    /// <summary>Stage 1: train the unified supernet.</summary>
    public static SupernetTrainer SupernetTrainer(this TransformsCatalog catalog, SupernetTrainer.Options options) => new(options);

    /// <summary>Stage 2: train the architecture generator on a trained supernet.</summary>
    public static GeneratorSearch GeneratorSearch(this TransformsCatalog catalog, GeneratorSearch.Options options) => new(options);

    /// <summary>Stage 3: retrain an architecture from scratch and score with it.</summary>
    public static ArchitectureRetrainer ArchitectureRetrainer(this TransformsCatalog catalog, ArchitectureRetrainer.Options options) => new(options);
}
