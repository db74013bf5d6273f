using Microsoft.ML;
using Sgnas.Data;
using SkiaSharp;

namespace Sgnas.MLNet.Data;

/// <summary>
/// Lets Sgnas.Core's <see cref="DatasetLoader"/> read image-folder trees (one sub-folder of PNG/JPEG/BMP per class)
/// through this package's ML.NET image loader, so every place that loads a dataset by path (the CLI's
/// <c>--data</c>, the supernet's stored data path that train-generator and search reload) takes image folders.
/// </summary>
public static class ImageFolderDecoding
{
    /// <summary>Sets <see cref="DatasetLoader.ImageFolderDecoder"/> to <see cref="Decode"/>. Idempotent.</summary>
    public static void Register() => DatasetLoader.ImageFolderDecoder = Decode;

    /// <summary>
    /// Decodes the <paramref name="split"/> of the tree at <paramref name="root"/> into memory. A <c>train</c>
    /// sub-folder is the training tree when present, else the root; the test split needs a <c>test</c> (or
    /// <c>val</c>) sub-folder — the training images are never handed out as test images.
    /// </summary>
    /// <param name="root">Tree root.</param>
    /// <param name="split">Train or test.</param>
    /// <param name="shape">(channels, size) to convert and resize to (a preset's input); null: the first image's
    /// size (square crop of its shorter side is not applied: width and height are kept) and colour (gray stays gray).</param>
    /// <exception cref="FileNotFoundException">The test split was asked for and the tree has no test/val sub-folder.</exception>
    public static ImageDataset Decode(string root, DatasetSplit split, (int Channels, int Size)? shape)
    {
        if (split == DatasetSplit.Test && !new[] { "test", "val" }.Any(n => Directory.Exists(Path.Combine(root, n))))
            throw new FileNotFoundException(
                $"image folder '{root}' has no test/ or val/ sub-folder, so it has no test split (its class folders are training data).", root);
        var index = ImageFolderIndex.Scan(root, split);
        int width, height; bool gray;
        if (shape is { } s)
        {
            if (s.Channels is not (1 or 3)) throw new ArgumentOutOfRangeException(nameof(shape), s.Channels, "images have 1 (gray) or 3 (RGB) channels.");
            (width, height, gray) = (s.Size, s.Size, s.Channels == 1);
        }
        else
        {
            string first = index.FullPath(index.Files[0].RelativePath);
            using var codec = SKCodec.Create(first) ?? throw new InvalidDataException($"'{first}' is not an image SkiaSharp can decode.");
            (width, height) = (codec.Info.Width, codec.Info.Height);
            gray = codec.Info.ColorType is SKColorType.Gray8 || codec.Info.ColorType is SKColorType.Alpha8;
        }
        var view = new MLContext().Data.LoadFromImageFolder(new ImageFolderLoaderOptions
        {
            Root = root, Width = width, Height = height, Grayscale = gray, Split = split,
        });
        return view.ToImageDataset();
    }
}
