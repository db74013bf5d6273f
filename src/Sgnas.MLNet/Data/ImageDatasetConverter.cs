using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;

namespace Sgnas.MLNet.Data;

/// <summary>Reads an <see cref="IDataView"/> with the <see cref="ImageColumns"/> layout into a Core <see cref="ImageDataset"/>.</summary>
internal static class ImageDatasetConverter
{
    public static ImageDataset Convert(IDataView data, string labelColumn, string featuresColumn, ImageShape? shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (label, classCount) = CheckLabel(data.Schema, labelColumn);
        var features = data.Schema.GetColumnOrNull(featuresColumn) ?? throw new ArgumentException(
            $"column '{featuresColumn}' not found; the data has {Describe(data.Schema)}.", nameof(featuresColumn));
        if (features.Type is not VectorDataViewType { ItemType: var item, IsKnownSize: true, Size: var size } || item != NumberDataViewType.Single)
            throw new ArgumentException(
                $"column '{featuresColumn}' must be a known-size vector of Single of length C*H*W; got {features.Type}.", nameof(featuresColumn));
        var s = ResolveShape(features, size, shape);

        var names = ClassNames(label, classCount);
        long? rowCount = data.GetRowCount();
        var pixels = new byte[rowCount.HasValue ? rowCount.Value * size : size * 256L];
        var labels = new List<int>(rowCount.HasValue ? (int)rowCount.Value : 256);
        using var cursor = data.GetRowCursor([label, features]);
        var getLabel = cursor.GetGetter<uint>(label);
        var getFeatures = cursor.GetGetter<VBuffer<float>>(features);
        uint key = 0;
        VBuffer<float> vector = default;
        while (cursor.MoveNext())
        {
            long row = cursor.Position;
            getLabel(ref key);
            if (key == 0 || key > classCount)
                throw new InvalidDataException($"row {row}: column '{labelColumn}' holds a missing key (0); every image needs a class.");
            getFeatures(ref vector);
            if ((labels.Count + 1L) * size > pixels.LongLength)
                Array.Resize(ref pixels, (int)Math.Min(Array.MaxLength, Math.Max(pixels.LongLength * 2, (labels.Count + 1L) * size)));
            var target = pixels.AsSpan(labels.Count * size, size);
            int slot = 0;
            foreach (float v in vector.DenseValues())
            {
                // Raw pixels are integers in [0, 255]; resampling may leave fractions, which are rounded.
                if (!(v >= -0.5f && v < 255.5f))
                    throw new InvalidDataException(
                        $"row {row}, column '{featuresColumn}', slot {slot}: value {v} is outside [0, 255]; features must be raw pixel " +
                        "values (ExtractPixels with scaleImage 1 and offsetImage 0), not normalized ones.");
                target[slot++] = (byte)MathF.Round(v);
            }
            labels.Add((int)key - 1);
        }
        if (pixels.LongLength != (long)labels.Count * size) Array.Resize(ref pixels, labels.Count * size);
        return new ImageDataset(pixels, s.Channels, s.Height, s.Width, labels.ToArray(), classCount, names);
    }

    private static (DataViewSchema.Column Column, int ClassCount) CheckLabel(DataViewSchema schema, string labelColumn)
    {
        var label = schema.GetColumnOrNull(labelColumn) ?? throw new ArgumentException(
            $"column '{labelColumn}' not found; the data has {Describe(schema)}.", nameof(labelColumn));
        if (label.Type is not KeyDataViewType key || key.RawType != typeof(uint) || key.Count == 0 || key.Count > int.MaxValue)
            throw new ArgumentException(
                $"column '{labelColumn}' must be a key type over UInt32 with a known count (e.g. from MapValueToKey); got {label.Type}.", nameof(labelColumn));
        return (label, (int)key.Count);
    }

    private static ImageShape ResolveShape(DataViewSchema.Column features, int size, ImageShape? given)
    {
        if (given is { } g)
        {
            if (g.Channels <= 0 || g.Height <= 0 || g.Width <= 0 || (long)g.Channels * g.Height * g.Width != size)
                throw new ArgumentException($"image shape {g} does not match column '{features.Name}' of length {size}.");
            return g;
        }
        var dims = ((VectorDataViewType)features.Type).Dimensions;
        if (dims.Length == 3) return new ImageShape(dims[0], dims[1], dims[2]);
        // Square images only: a length cannot be both n² and 3m², so 1 and 3 channels never clash.
        int side = (int)Math.Round(Math.Sqrt(size));
        if (side * side == size) return new ImageShape(1, side, side);
        side = (int)Math.Round(Math.Sqrt(size / 3.0));
        if (size % 3 == 0 && 3 * side * side == size) return new ImageShape(3, side, side);
        throw new ArgumentException(
            $"cannot tell the image shape of column '{features.Name}' (length {size}, not dimensioned [C, H, W], not a square gray or RGB image); pass the shape.");
    }

    private static IReadOnlyList<string>? ClassNames(DataViewSchema.Column label, int classCount)
    {
        var kv = label.Annotations.Schema.GetColumnOrNull(ImageColumns.KeyValuesKind);
        if (kv?.Type is not VectorDataViewType { Size: var n } vt || n != classCount || vt.ItemType is not TextDataViewType) return null;
        VBuffer<ReadOnlyMemory<char>> names = default;
        label.GetKeyValues(ref names);
        return names.DenseValues().Select(m => m.ToString()).ToArray();
    }

    private static string Describe(DataViewSchema schema) =>
        schema.Count == 0 ? "no columns" : "columns " + string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => $"'{c.Name}' ({c.Type})"));
}
