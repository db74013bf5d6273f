using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using Sgnas.Data;

namespace Sgnas.MLNet.Data;

/// <summary>
/// Builds the image-folder view: a path/label table from <see cref="ImageFolderIndex"/>, then ML.NET's own
/// LoadImages → ResizeImages → (ConvertToGrayscale) → ExtractPixels, so pixels are decoded per row while cursoring.
/// </summary>
internal static class ImageFolderSource
{
    // Distinct names per step, so that no step leaves a hidden column behind and all are dropped at the end.
    private const string Loaded = "Sgnas.LoadedImage", Resized = "Sgnas.ResizedImage", Gray = "Sgnas.GrayImage";

    private sealed class PathRow
    {
        public string ImagePath { get; set; } = "";
        public uint Label { get; set; }
    }

    public static IDataView Load(ImageFolderLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.Root)) throw new ArgumentException("image folder root is not set.", nameof(options));
        if (options.Width <= 0 || options.Height <= 0)
            throw new ArgumentException($"image size must be positive; got {options.Width}×{options.Height}.", nameof(options));
        if (options.Subset != ImageFolderSubset.All && !(options.ValidationFraction > 0 && options.ValidationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(options), options.ValidationFraction, "ValidationFraction must lie in (0, 1).");

        var index = ImageFolderIndex.Scan(options.Root, options.Split);
        var rows = new List<PathRow>();
        foreach (var (rel, label) in index.Files)
        {
            if (options.Subset != ImageFolderSubset.All &&
                IsValidation(rel, options.Seed, options.ValidationFraction) != (options.Subset == ImageFolderSubset.Validation))
                continue;
            // LoadFromEnumerable takes key members as 0-based indices and stores them +1 (0 = missing).
            rows.Add(new PathRow { ImagePath = index.FullPath(rel), Label = (uint)label });
        }
        if (rows.Count == 0)
            throw new InvalidDataException(
                $"the {options.Subset.ToString().ToLowerInvariant()} subset of '{index.Root}' is empty ({index.Files.Count} images, validation fraction {options.ValidationFraction}).");

        var schema = SchemaDefinition.Create(typeof(PathRow));
        schema[nameof(PathRow.Label)].ColumnType = new KeyDataViewType(typeof(uint), index.ClassNames.Count);
        var names = new VBuffer<ReadOnlyMemory<char>>(index.ClassNames.Count, index.ClassNames.Select(n => n.AsMemory()).ToArray());
        schema[nameof(PathRow.Label)].AddAnnotation(ImageColumns.KeyValuesKind, names, new VectorDataViewType(TextDataViewType.Instance, index.ClassNames.Count));

        // DataOperationsCatalog does not expose its MLContext; these transforms are stateless, so a private
        // context changes nothing but where log messages go.
        var ml = new MLContext();
        var paths = ml.Data.LoadFromEnumerable(rows, schema);
        IEstimator<ITransformer> pipeline = ml.Transforms.LoadImages(Loaded, imageFolder: null, inputColumnName: ImageColumns.ImagePath)
            .Append(ml.Transforms.ResizeImages(Resized, options.Width, options.Height, Loaded, options.Resizing));
        string last = Resized;
        if (options.Grayscale) pipeline = pipeline.Append(ml.Transforms.ConvertToGrayscale(last = Gray, Resized));
        pipeline = pipeline
            .Append(ml.Transforms.ExtractPixels(ImageColumns.Features, last,
                options.Grayscale ? ImagePixelExtractingEstimator.ColorBits.Red : ImagePixelExtractingEstimator.ColorBits.Rgb,
                interleavePixelColors: false))
            .Append(ml.Transforms.DropColumns(options.Grayscale ? [Loaded, Resized, Gray] : [Loaded, Resized]));
        var view = pipeline.Fit(paths).Transform(paths);
        return new ImageErrorContextDataView(view);
    }

    /// <summary>
    /// Hold-out membership from a hash of the relative path: stable when files are added or removed, and
    /// independent of enumeration order.
    /// </summary>
    internal static bool IsValidation(string relativePath, int seed, double fraction)
    {
        // FNV-1a 64 over the seed then the UTF-8 path, finished with a SplitMix64 step for uniform high bits.
        ulong h = 0xCBF29CE484222325UL;
        for (int i = 0; i < 4; i++) h = (h ^ (byte)(seed >> (8 * i))) * 0x100000001B3UL;
        foreach (byte b in Encoding.UTF8.GetBytes(relativePath)) h = (h ^ b) * 0x100000001B3UL;
        h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9UL;
        h = (h ^ (h >> 27)) * 0x94D049BB133111EBUL;
        h ^= h >> 31;
        return (h >> 11) * (1.0 / (1UL << 53)) < fraction;
    }
}
