using System.Globalization;
using System.Text.Json.Nodes;
using Sgnas.Data;

namespace Sgnas.Training;

/// <summary>
/// The data split a supernet was trained with, read defensively from the <c>options</c> object of
/// <c>supernet.json</c> (the serialized trainer options): <c>validationFraction</c> (default 0.1), <c>seed</c>
/// (default 0), <c>maxTrainImages</c> (default all), and <c>dataPath</c> (also <c>dataset</c>, <c>data</c>; null = Fashion-MNIST). Candidates
/// must be scored on images the supernet never trained on, so the search rebuilds exactly the trainer's held-out
/// part (<see cref="Indices"/>).
/// </summary>
/// <param name="ValidationFraction">Share of the (optionally subsampled) training set held out for validation.</param>
/// <param name="Seed">The trainer's seed.</param>
/// <param name="MaxTrainImages">Size of the seeded subsample the trainer drew first, or null for all images.</param>
/// <param name="DatasetPath">Dataset path, or null for Fashion-MNIST.</param>
public sealed record SupernetDataSplit(double ValidationFraction, int Seed, int? MaxTrainImages, string? DatasetPath)
{
    /// <summary>Default held-out share when the metadata does not say.</summary>
    public const double DefaultValidationFraction = 0.1;

    /// <summary>Reads the split from a checkpoint's options; missing or malformed fields take the defaults.</summary>
    public static SupernetDataSplit FromOptions(JsonNode? options)
    {
        var o = options as JsonObject;
        double fraction = Number(o, "validationFraction") is double f && f > 0 && f < 1 ? f : DefaultValidationFraction;
        int seed = Number(o, "seed") is double s && s == Math.Floor(s) && Math.Abs(s) <= int.MaxValue ? (int)s : 0;
        int? max = Number(o, "maxTrainImages") is double m && m >= 1 && m == Math.Floor(m) && m <= int.MaxValue ? (int)m : null;
        string? dataset = Text(o, "dataPath") ?? Text(o, "dataset") ?? Text(o, "datasetPath") ?? Text(o, "data");
        return new SupernetDataSplit(fraction, seed, max, string.IsNullOrWhiteSpace(dataset) ? null : dataset);
    }

    /// <summary>
    /// The trainer's train and validation indices into <paramref name="data"/>: an optional seeded subsample of
    /// <see cref="MaxTrainImages"/> images, then a stratified split of it (as <c>SupernetTrainer</c> does).
    /// </summary>
    public TrainValidationIndices Indices(ImageDataset data) =>
        SupernetTrainer.Split(data, new SupernetTrainerOptions
        {
            ValidationFraction = ValidationFraction, Seed = Seed, MaxTrainImages = MaxTrainImages,
        });

    private static JsonNode? Get(JsonObject? o, string name) =>
        o?.FirstOrDefault(kv => string.Equals(kv.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    private static double? Number(JsonObject? o, string name)
    {
        if (Get(o, name) is not JsonValue v) return null;
        if (v.TryGetValue(out double d)) return d;
        if (v.TryGetValue(out string? s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out d)) return d;
        return null;
    }

    private static string? Text(JsonObject? o, string name) => Get(o, name) is JsonValue v && v.TryGetValue(out string? s) ? s : null;
}
