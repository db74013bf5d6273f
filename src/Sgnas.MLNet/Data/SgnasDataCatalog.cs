using Microsoft.ML;
using Sgnas.Data;

namespace Sgnas.MLNet.Data;

/// <summary>
/// Image dataset sources for ML.NET: <c>mlContext.Data.LoadFromIdx(...)</c>, <c>LoadFromCifarBinary(...)</c>,
/// <c>LoadFromImageFolder(...)</c>, and the way back to a Core <see cref="ImageDataset"/> for the trainers.
/// Every source has the <see cref="ImageColumns"/> schema:
/// <c>Label</c> is a UInt32 key with ClassCount values (class names as KeyValues); <c>Features</c> is a
/// known-size Single vector with dimensions [Channels, Height, Width] of raw pixel values in [0, 255], CHW order,
/// not normalized;
/// image folders add <c>ImagePath</c>.
/// </summary>
public static class SgnasDataCatalog
{
    /// <summary>
    /// Loads IDX files (MNIST, Fashion-MNIST; plain or gzipped) into memory and exposes them as a view.
    /// </summary>
    /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
    /// <param name="folderOrImagesFile">A folder holding <c>train-</c>/<c>t10k-images-idx3-ubyte[.gz]</c> and the labels
    /// files, or one images file (its labels file is the sibling named <c>*-labels-idx1-ubyte[.gz]</c>).</param>
    /// <param name="split">Which files of a folder to read; for one images file, its training part or its held-out
    /// test part (20%, stratified, fixed seed), so the two never overlap.</param>
    /// <param name="classNames">Class names for the KeyValues annotation; null numbers the classes.</param>
    /// <returns>A view with Label (key) and Features (1 × rows × cols floats in [0, 255]).</returns>
    /// <exception cref="FileNotFoundException">No IDX files for the split.</exception>
    /// <exception cref="InvalidDataException">A file is malformed, truncated, or the counts differ.</exception>
    public static IDataView LoadFromIdx(this DataOperationsCatalog catalog, string folderOrImagesFile,
        DatasetSplit split = DatasetSplit.Train, IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        // One images file has no test set: its train and test splits are disjoint held-out parts (IdxReader.LoadSplit).
        return new ImageDatasetDataView(IdxReader.LoadSplit(folderOrImagesFile, split, classNames));
    }

    /// <summary>Loads Fashion-MNIST (Debian package dataset-fashion-mnist) with its class names.</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="split">Train (60k) or test (10k).</param>
    /// <param name="folder">Folder of the files; null for <see cref="FashionMnist.DefaultFolder"/>.</param>
    public static IDataView LoadFromFashionMnist(this DataOperationsCatalog catalog, DatasetSplit split = DatasetSplit.Train, string? folder = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ImageDatasetDataView(FashionMnist.Load(split, folder));
    }

    /// <summary>Loads CIFAR-10 or CIFAR-100 binary files (variant detected from the folder's files) into memory.</summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="folder">Folder holding <c>data_batch_1..5.bin</c>/<c>test_batch.bin</c> or <c>train.bin</c>/<c>test.bin</c>.</param>
    /// <param name="split">Train or test files.</param>
    /// <param name="labels">CIFAR-100 only: fine (100) or coarse (20) classes.</param>
    /// <returns>A view with Label (key) and Features (3 × 32 × 32 floats in [0, 255]).</returns>
    public static IDataView LoadFromCifarBinary(this DataOperationsCatalog catalog, string folder,
        DatasetSplit split = DatasetSplit.Train, CifarLabelKind labels = CifarLabelKind.Fine)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new ImageDatasetDataView(CifarBinaryReader.Read(folder, split, labels));
    }

    /// <summary>Exposes an in-memory <see cref="ImageDataset"/> as a view with the <see cref="ImageColumns"/> schema.</summary>
    public static IDataView LoadFromImageDataset(this DataOperationsCatalog catalog, ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        return new ImageDatasetDataView(data);
    }

    /// <summary>
    /// Streams an image-folder tree (one sub-folder per class, PNG/JPEG) through ML.NET's image transforms;
    /// images are decoded and resized as rows are read, not loaded up front.
    /// </summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="root">Folder of class sub-folders.</param>
    /// <param name="width">Width images are resized to.</param>
    /// <param name="height">Height images are resized to.</param>
    /// <param name="grayscale">One gray channel instead of RGB.</param>
    /// <param name="subset">All images, or the train or validation part of a hash-based hold-out split.</param>
    /// <param name="validationFraction">Share held out as validation when <paramref name="subset"/> is not All.</param>
    /// <param name="seed">Seed of the hold-out split.</param>
    /// <returns>A view with Label (key, class = sub-folder name in ordinal order), Features and ImagePath.</returns>
    public static IDataView LoadFromImageFolder(this DataOperationsCatalog catalog, string root, int width, int height,
        bool grayscale = false, ImageFolderSubset subset = ImageFolderSubset.All, double validationFraction = 0.1, int seed = 0) =>
        catalog.LoadFromImageFolder(new ImageFolderLoaderOptions
        {
            Root = root, Width = width, Height = height, Grayscale = grayscale,
            Subset = subset, ValidationFraction = validationFraction, Seed = seed,
        });

    /// <summary>Streams an image-folder tree; see <see cref="ImageFolderLoaderOptions"/>.</summary>
    public static IDataView LoadFromImageFolder(this DataOperationsCatalog catalog, ImageFolderLoaderOptions options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return ImageFolderSource.Load(options);
    }

    /// <summary>
    /// Loads whatever <paramref name="path"/> holds, as the CLI's <c>--data PATH</c> does: an IDX folder, a CIFAR
    /// binary folder, or an image-folder tree (resized to the preset's input size and channels); null loads Fashion-MNIST.
    /// </summary>
    /// <param name="catalog">The data catalog.</param>
    /// <param name="path">Data folder, or null for Fashion-MNIST.</param>
    /// <param name="split">Train or test part (image folders: a <c>train</c>/<c>test</c> sub-folder when present).</param>
    /// <param name="preset">For image folders: the input size and channels to resize to.</param>
    public static IDataView LoadFromPath(this DataOperationsCatalog catalog, string? path, DatasetSplit split, SearchSpace.SearchSpacePreset preset)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (path is null) return catalog.LoadFromFashionMnist(split);
        return DatasetLoader.Detect(path) switch
        {
            DatasetFormat.Idx => catalog.LoadFromIdx(path, split),
            DatasetFormat.Cifar10 or DatasetFormat.Cifar100 => catalog.LoadFromCifarBinary(path, split),
            _ => catalog.LoadFromImageFolder(new ImageFolderLoaderOptions
            {
                Root = path, Width = preset.InputSize, Height = preset.InputSize, Grayscale = preset.InputChannels == 1, Split = split,
            }),
        };
    }

    /// <summary>
    /// Reads a view with a UInt32 key label and a known-size Single vector of raw pixels (values in [0, 255],
    /// CHW order) into memory as an <see cref="ImageDataset"/> for the trainers.
    /// </summary>
    /// <param name="data">The view, e.g. from one of the loaders above or any pipeline producing that layout.</param>
    /// <param name="labelColumn">Name of the key-typed label column.</param>
    /// <param name="featuresColumn">Name of the pixel vector column.</param>
    /// <param name="shape">Image shape; when null it comes from the vector's dimensions [C, H, W], else from the
    /// length for square gray (n²) or RGB (3n²) images.</param>
    /// <exception cref="ArgumentException">A column is missing, of the wrong type, or the shape does not fit.</exception>
    /// <exception cref="InvalidDataException">A row has a missing label or a value outside [0, 255].</exception>
    public static ImageDataset ToImageDataset(this IDataView data, string labelColumn = ImageColumns.Label,
        string featuresColumn = ImageColumns.Features, ImageShape? shape = null) =>
        ImageDatasetConverter.Convert(data, labelColumn, featuresColumn, shape);
}
