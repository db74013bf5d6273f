using Microsoft.ML.Transforms.Image;
using Sgnas.Data;

namespace Sgnas.MLNet.Data;

/// <summary>Which part of an image folder to load.</summary>
public enum ImageFolderSubset
{
    /// <summary>Every image.</summary>
    All,

    /// <summary>Images not held out for validation.</summary>
    Train,

    /// <summary>Images held out for validation (<see cref="ImageFolderLoaderOptions.ValidationFraction"/>).</summary>
    Validation,
}

/// <summary>Options of <see cref="SgnasDataCatalog.LoadFromImageFolder(Microsoft.ML.DataOperationsCatalog, ImageFolderLoaderOptions)"/>.</summary>
public sealed class ImageFolderLoaderOptions
{
    /// <summary>Folder holding one sub-folder of PNG/JPEG images per class (or <c>train</c>/<c>test</c> sub-folders of such, see <see cref="Split"/>).</summary>
    public string Root { get; set; } = "";

    /// <summary>Width the images are resized to, in pixels.</summary>
    public int Width { get; set; } = 32;

    /// <summary>Height the images are resized to, in pixels.</summary>
    public int Height { get; set; } = 32;

    /// <summary>One gray channel instead of three RGB channels.</summary>
    public bool Grayscale { get; set; }

    /// <summary>How images of another aspect ratio are fitted (ML.NET's default: scale, then crop the centre).</summary>
    public ImageResizingEstimator.ResizingKind Resizing { get; set; } = ImageResizingEstimator.ResizingKind.IsoCrop;

    /// <summary>When set and <see cref="Root"/> has a <c>train</c> (Train) or <c>test</c>/<c>val</c> (Test) sub-folder, that sub-folder is the tree.</summary>
    public DatasetSplit? Split { get; set; }

    /// <summary>All images, or the train or validation part of the hold-out split.</summary>
    public ImageFolderSubset Subset { get; set; } = ImageFolderSubset.All;

    /// <summary>Share of images held out as validation, in (0, 1); used when <see cref="Subset"/> is not All.</summary>
    public double ValidationFraction { get; set; } = 0.1;

    /// <summary>Seed of the hold-out split; the same seed and files give the same split.</summary>
    public int Seed { get; set; }
}
