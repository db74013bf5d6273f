using Sgnas.Data;
using Sgnas.MLNet.Data;

namespace Sgnas.MLNet.Tests.Data;

/// <summary>Sgnas.Core's DatasetLoader reads image folders once Sgnas.MLNet's decoder is registered.</summary>
public sealed class ImageFolderDecodingTests
{
    [Fact]
    public void DecodesToThePresetShapeOrTheImagesOwnAndNeverInventsATestSplit()
    {
        using var d = new TempDir();
        var gray = Enumerable.Range(0, 6 * 6).Select(i => (byte)(i * 7)).ToArray();
        d.Write("train/a/1.png", PngWriter.Encode(gray, 1, 6, 6));
        d.Write("train/b/2.png", PngWriter.Encode(gray.Reverse().ToArray(), 1, 6, 6));
        d.Write("test/a/3.png", PngWriter.Encode(gray, 1, 6, 6));
        d.Write("test/b/4.png", PngWriter.Encode(gray, 1, 6, 6));

        var own = ImageFolderDecoding.Decode(d.Root, DatasetSplit.Train, shape: null);
        Assert.Equal((2, 1, 6, 6), (own.Count, own.Channels, own.Height, own.Width));
        Assert.Equal(gray, own.GetImage(0).ToArray());        // own size and colour: exact bytes
        Assert.Equal(new[] { "a", "b" }, own.ClassNames);

        var resized = ImageFolderDecoding.Decode(d.Root, DatasetSplit.Test, shape: (3, 4));
        Assert.Equal((2, 3, 4, 4), (resized.Count, resized.Channels, resized.Height, resized.Width));

        ImageFolderDecoding.Register();
        var viaCore = DatasetLoader.Load(d.Root, DatasetSplit.Train, CifarLabelKind.Fine, (1, 6));
        Assert.Equal(own.Pixels, viaCore.Pixels);

        // A tree without test/ or val/ has no test split: its images are training data.
        using var flat = new TempDir();
        flat.Write("a/1.png", PngWriter.Encode(gray, 1, 6, 6));
        flat.Write("b/1.png", PngWriter.Encode(gray, 1, 6, 6));
        var e = Assert.Throws<FileNotFoundException>(() => DatasetLoader.Load(flat.Root, DatasetSplit.Test, CifarLabelKind.Fine, null));
        Assert.Contains("no test/ or val/ sub-folder", e.Message);
    }
}
