using System.Text.Json.Nodes;
using Sgnas.Data;
using Sgnas.Training;

namespace Sgnas.Generation;

/// <summary>
/// The validation images a generator trains on: the same held-out part the supernet was validated with, so the
/// generator never scores architectures on images the supernet weights were fitted to (paper appendix A.3 trains
/// G on the held-out validation split).
/// </summary>
public static class GeneratorData
{
    /// <summary>
    /// Reproduces the supernet trainer's validation split from its options as stored in <c>supernet.json</c>
    /// (<c>Options</c>; read defensively: a missing node or field takes the trainer's default, validationFraction
    /// 0.1, seed 0, maxTrainImages none): an optional seeded subset of <c>maxTrainImages</c>, then a stratified
    /// split of <c>validationFraction</c>. <paramref name="maxImages"/> keeps the first N of the validation indices
    /// (in the split's ascending order), for short runs.
    /// </summary>
    public static int[] ValidationIndices(ImageDataset data, JsonNode? supernetOptions, int? maxImages = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        var val = SupernetDataSplit.FromOptions(supernetOptions).Indices(data).Validation;
        if (maxImages is int m)
        {
            if (m < 1) throw new ArgumentOutOfRangeException(nameof(maxImages), m, "max validation images must be at least 1.");
            val = val.Take(m).ToArray();
        }
        return val;
    }

    /// <summary>The data path recorded in the supernet options (<c>dataPath</c>, <c>dataset</c> or <c>data</c>), or null.</summary>
    public static string? DataPath(JsonNode? supernetOptions) => SupernetDataSplit.FromOptions(supernetOptions).DatasetPath;
}
