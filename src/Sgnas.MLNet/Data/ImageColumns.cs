using Microsoft.ML;
using Microsoft.ML.Data;

namespace Sgnas.MLNet.Data;

/// <summary>
/// Column names and annotations shared by the image sources of <see cref="SgnasDataCatalog"/>:
/// <list type="bullet">
/// <item><c>Label</c>: key type over UInt32 with one value per class (raw value = class index + 1, 0 = missing);
/// its <c>KeyValues</c> annotation holds the class names.</item>
/// <item><c>Features</c>: known-size vector of Single with dimensions [Channels, Height, Width] (length C × H × W),
/// each image in CHW order (all of channel 0 row by row, then channel 1, ...), raw pixel values in [0, 255], not
/// normalized. This is the layout of ML.NET's ExtractPixels with its defaults (planar, scale 1, offset 0).</item>
/// <item><c>ImagePath</c> (image folders only): absolute path of the image file.</item>
/// </list>
/// </summary>
public static class ImageColumns
{
    /// <summary>Name of the label column.</summary>
    public const string Label = "Label";

    /// <summary>Name of the pixel vector column.</summary>
    public const string Features = "Features";

    /// <summary>Name of the image path column of image-folder sources.</summary>
    public const string ImagePath = "ImagePath";

    // ML.NET's own kind names; its AnnotationUtils.Kinds is internal.
    internal const string KeyValuesKind = "KeyValues";

    internal static DataViewSchema.Annotations LabelAnnotations(IReadOnlyList<string> classNames)
    {
        var builder = new DataViewSchema.Annotations.Builder();
        var names = classNames.Select(n => n.AsMemory()).ToArray();
        builder.Add(KeyValuesKind, new VectorDataViewType(TextDataViewType.Instance, names.Length),
            (ref VBuffer<ReadOnlyMemory<char>> v) => v = new VBuffer<ReadOnlyMemory<char>>(names.Length, names));
        return builder.ToAnnotations();
    }
}
