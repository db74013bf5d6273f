using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;
using Sgnas.MLNet.Data;

namespace Sgnas.MLNet.Tests.Data;

public class ImageFolderTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private static byte[] Image(int channels, int h, int w, int seed)
    {
        var px = new byte[channels * h * w];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)(seed * 37 + i * 11);
        return px;
    }

    [Fact]
    public void StreamsRgbPngsWithKeyLabelsAndRawPixels()
    {
        using var d = new TempDir();
        var cat = Image(3, 4, 5, 1);
        d.Write("cat/b.png", PngWriter.Encode(cat, 3, 4, 5));
        d.Write("cat/a.PNG", PngWriter.Encode(Image(3, 4, 5, 2), 3, 4, 5));
        d.Write("dog/x.png", PngWriter.Encode(Image(3, 4, 5, 3), 3, 4, 5));
        d.Write("notes.txt", [1, 2, 3]);

        var ml = new MLContext(seed: 1);
        var view = ml.Data.LoadFromImageFolder(d.Root, width: 5, height: 4);

        var label = view.Schema[ImageColumns.Label];
        Assert.Equal(new KeyDataViewType(typeof(uint), 2), label.Type);
        VBuffer<ReadOnlyMemory<char>> names = default;
        label.GetKeyValues(ref names);
        Assert.Equal(new[] { "cat", "dog" }, names.DenseValues().Select(n => n.ToString()));
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3, 4, 5), view.Schema[ImageColumns.Features].Type);
        Assert.Equal(TextDataViewType.Instance, view.Schema[ImageColumns.ImagePath].Type);
        Assert.DoesNotContain(view.Schema, c => c.Name.StartsWith("Sgnas.", StringComparison.Ordinal));

        var ds = view.ToImageDataset();
        Assert.Equal((3, 3, 4, 5), (ds.Count, ds.Channels, ds.Height, ds.Width));
        Assert.Equal(new[] { 0, 0, 1 }, ds.Labels);           // cat/a.PNG, cat/b.png, dog/x.png
        Assert.Equal(cat, ds.GetImage(1).ToArray());          // same size: no resampling, exact CHW bytes
        Assert.Equal(new[] { "cat", "dog" }, ds.ClassNames);

        var paths = view.GetColumn<string>(ImageColumns.ImagePath).ToArray();
        Assert.EndsWith(Path.Combine("cat", "a.PNG"), paths[0]);
    }

    [Fact]
    public void GrayscaleAndResizeGiveOneChannelOfRequestedSize()
    {
        using var d = new TempDir();
        var flat = Enumerable.Repeat((byte)200, 8 * 8).ToArray();
        d.Write("a/1.png", PngWriter.Encode(flat, 1, 8, 8));
        d.Write("b/2.png", PngWriter.Encode(Enumerable.Repeat((byte)10, 3 * 8 * 8).ToArray(), 3, 8, 8));

        var view = new MLContext().Data.LoadFromImageFolder(d.Root, 4, 4, grayscale: true);
        var ds = view.ToImageDataset();
        Assert.Equal((1, 4, 4), (ds.Channels, ds.Height, ds.Width));
        Assert.All(ds.GetImage(0).ToArray(), p => Assert.InRange(p, 198, 202));
        Assert.All(ds.GetImage(1).ToArray(), p => Assert.InRange(p, 8, 12));
    }

    [Fact]
    public void HoldOutSplitIsDeterministicDisjointAndComplete()
    {
        using var d = new TempDir();
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 20; i++)
                d.Write($"c{c}/{i:00}.png", PngWriter.Encode(Image(1, 2, 2, i), 1, 2, 2));
        var ml = new MLContext();
        string[] Paths(ImageFolderSubset s, int seed) =>
            ml.Data.LoadFromImageFolder(d.Root, 2, 2, true, s, 0.25, seed).GetColumn<string>(ImageColumns.ImagePath).ToArray();

        var train = Paths(ImageFolderSubset.Train, 3);
        var val = Paths(ImageFolderSubset.Validation, 3);
        Assert.Equal(40, train.Length + val.Length);
        Assert.Empty(train.Intersect(val));
        Assert.InRange(val.Length, 3, 20);
        Assert.Equal(val, Paths(ImageFolderSubset.Validation, 3));
        Assert.NotEqual(val, Paths(ImageFolderSubset.Validation, 4));
    }

    [Fact]
    public void JpegIsDecoded()
    {
        using var d = new TempDir();
        using (var bmp = new SkiaSharp.SKBitmap(6, 6))
        {
            bmp.Erase(new SkiaSharp.SKColor(250, 0, 0));
            using var img = SkiaSharp.SKImage.FromBitmap(bmp);
            using var jpg = img.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 95);
            d.Write("red/r.jpg", jpg.ToArray());
        }
        var ds = new MLContext().Data.LoadFromImageFolder(d.Root, 6, 6).ToImageDataset();
        var px = ds.GetImage(0).ToArray();
        Assert.InRange(px[0], 240, 255);       // R plane first (CHW)
        Assert.InRange(px[36], 0, 12);         // G
        Assert.InRange(px[72], 0, 12);         // B
    }

    [Fact]
    public void CorruptImageErrorNamesTheFile()
    {
        using var d = new TempDir();
        d.Write("a/good.png", PngWriter.Encode(Image(3, 2, 2, 0), 3, 2, 2));
        var bad = PngWriter.Encode(Image(3, 2, 2, 1), 3, 2, 2);
        string badPath = d.Write("a/zbad.png", bad.AsSpan(0, 30).ToArray());
        var view = new MLContext().Data.LoadFromImageFolder(d.Root, 2, 2);
        var e = Assert.Throws<InvalidDataException>(() => view.ToImageDataset());
        Assert.Contains(badPath, e.Message);
        Assert.Contains("row 1", e.Message);
        output.WriteLine(e.Message);
    }

    [Fact]
    public void EmptyClassFolderAndEmptySubsetAreReported()
    {
        using var d = new TempDir();
        d.Write("a/1.png", PngWriter.Encode(Image(1, 2, 2, 0), 1, 2, 2));
        Directory.CreateDirectory(Path.Combine(d.Root, "empty"));
        var ml = new MLContext();
        var e = Assert.Throws<InvalidDataException>(() => ml.Data.LoadFromImageFolder(d.Root, 2, 2));
        Assert.Contains("empty", e.Message);

        Directory.Delete(Path.Combine(d.Root, "empty"));
        var v = Assert.Throws<InvalidDataException>(() => ml.Data.LoadFromImageFolder(d.Root, 2, 2, subset: ImageFolderSubset.Train, validationFraction: 0.999999));
        Assert.Contains("train subset", v.Message);
    }

    [Fact]
    public void SplitSubfolderIsUsed()
    {
        using var d = new TempDir();
        d.Write("train/a/1.png", PngWriter.Encode(Image(1, 2, 2, 0), 1, 2, 2));
        d.Write("train/b/1.png", PngWriter.Encode(Image(1, 2, 2, 0), 1, 2, 2));
        d.Write("test/a/9.png", PngWriter.Encode(Image(1, 2, 2, 0), 1, 2, 2));
        var ml = new MLContext();
        Assert.Equal(2, ml.Data.LoadFromImageFolder(new ImageFolderLoaderOptions { Root = d.Root, Width = 2, Height = 2, Split = DatasetSplit.Train }).ToImageDataset().Count);
        var test = ml.Data.LoadFromImageFolder(new ImageFolderLoaderOptions { Root = d.Root, Width = 2, Height = 2, Split = DatasetSplit.Test }).ToImageDataset();
        Assert.Equal(1, test.Count);
        Assert.Equal(1, test.ClassCount);
    }
}
