using Sgnas.Data;

namespace Sgnas.Core.Tests.Data;

public class IdxReaderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ReadsPairPlainAndGzip(bool gzip)
    {
        using var d = new DataFiles();
        byte[] images = DataFiles.IdxImages(3, 4, 5), labels = DataFiles.IdxLabels(2, 0, 9);
        string ext = gzip ? ".gz" : "";
        d.Write("train-images-idx3-ubyte" + ext, gzip ? DataFiles.Gzip(images) : images);
        d.Write("train-labels-idx1-ubyte" + ext, gzip ? DataFiles.Gzip(labels) : labels);

        var pair = IdxReader.FindPair(d.Root, DatasetSplit.Train)!.Value;
        var ds = IdxReader.ReadPair(pair.Images, pair.Labels);

        Assert.Equal((3, 1, 4, 5), (ds.Count, ds.Channels, ds.Height, ds.Width));
        Assert.Equal(new[] { 2, 0, 9 }, ds.Labels);
        Assert.Equal(10, ds.ClassCount);
        Assert.Equal(DataFiles.Pixel(2, 0, 3, 4), ds.GetImage(2)[3 * 5 + 4]);
        Assert.Equal(DataFiles.Pixel(1, 0, 0, 1), ds.GetImage(1)[1]);
    }

    [Fact]
    public void GzipIsDetectedByMagicNotName()
    {
        using var d = new DataFiles();
        string p = d.Write("images-without-extension", DataFiles.Gzip(DataFiles.IdxImages(2, 2, 2)));
        Assert.True(IdxReader.IsGzip(p));
        Assert.Equal(2, IdxReader.ReadImages(p).Count);

        string plain = d.Write("plain.gz", DataFiles.IdxImages(2, 2, 2));
        Assert.False(IdxReader.IsGzip(plain));
        Assert.Equal(8, IdxReader.ReadImages(plain).Pixels.Length);
    }

    [Fact]
    public void BadMagicNamesFileAndValues()
    {
        using var d = new DataFiles();
        string labels = d.Write("x-labels", DataFiles.IdxLabels(1, 2));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(labels));
        Assert.Contains(labels, e.Message);
        Assert.Contains("0x00000801", e.Message);
        Assert.Contains("0x00000803", e.Message);
        Assert.Contains("labels file", e.Message);

        string junk = d.Write("junk", "PNG junk bytes here"u8.ToArray());
        e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(junk));
        Assert.Contains("not an IDX file", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedFileGivesExpectedAndActualSize(bool gzip)
    {
        using var d = new DataFiles();
        var full = DataFiles.IdxImages(3, 4, 5);            // 16 + 60 bytes
        var cut = full.AsSpan(0, 50).ToArray();
        string p = d.Write("t-images", gzip ? DataFiles.Gzip(cut) : cut);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(p));
        Assert.Contains(p, e.Message);
        Assert.Contains("truncated", e.Message);
        Assert.Contains("76", e.Message);
        Assert.Contains("offset 50", e.Message);
    }

    [Fact]
    public void TruncatedHeaderAndTrailingBytesAreReported()
    {
        using var d = new DataFiles();
        string p = d.Write("h", DataFiles.IdxImages(1, 2, 2).AsSpan(0, 10).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(p));
        Assert.Contains("header ends at offset 10", e.Message);

        string q = d.Write("long", [.. DataFiles.IdxLabels(1, 2), 7, 7]);
        e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadLabels(q));
        Assert.Contains("2 bytes after the data", e.Message);
    }

    [Fact]
    public void CorruptGzipNamesFile()
    {
        using var d = new DataFiles();
        var gz = DataFiles.Gzip(DataFiles.IdxImages(50, 8, 8));
        for (int i = 12; i < gz.Length - 8; i++) gz[i] ^= 0x5A;
        string p = d.Write("corrupt.gz", gz);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(p));
        Assert.Contains(p, e.Message);
    }

    [Fact]
    public void CountMismatchNamesBothFiles()
    {
        using var d = new DataFiles();
        string im = d.Write("t10k-images-idx3-ubyte", DataFiles.IdxImages(3, 2, 2));
        string lb = d.Write("t10k-labels-idx1-ubyte", DataFiles.IdxLabels(1, 2));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadPair(im, lb));
        Assert.Contains("3 images", e.Message);
        Assert.Contains("2 labels", e.Message);
        Assert.Contains(im, e.Message);
        Assert.Contains(lb, e.Message);
    }

    [Fact]
    public void LabelOutsideGivenClassesIsReported()
    {
        using var d = new DataFiles();
        string im = d.Write("a-images-idx3-ubyte", DataFiles.IdxImages(2, 2, 2));
        string lb = d.Write("a-labels-idx1-ubyte", DataFiles.IdxLabels(1, 3));
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadPair(im, lb, ["a", "b", "c"]));
        Assert.Contains("label 3 at offset 9", e.Message);
    }

    [Fact]
    public void FindPairFromImagesFileAndMissingLabels()
    {
        using var d = new DataFiles();
        string im = d.Write("t10k-images-idx3-ubyte.gz", DataFiles.Gzip(DataFiles.IdxImages(1, 2, 2)));
        var e = Assert.Throws<FileNotFoundException>(() => IdxReader.FindPair(im, DatasetSplit.Train));
        Assert.Contains("t10k-labels-idx1-ubyte.gz", e.Message);
        e = Assert.Throws<FileNotFoundException>(() => IdxReader.FindPair(d.Root, DatasetSplit.Test));
        Assert.Contains("no t10k-labels-idx1-ubyte", e.Message);

        string lb = d.Write("t10k-labels-idx1-ubyte", DataFiles.IdxLabels(4));   // plain beside gzipped images
        Assert.Equal((im, lb), IdxReader.FindPair(im, DatasetSplit.Train));
        Assert.Null(IdxReader.FindPair(Path.Combine(d.Root, "nothing"), DatasetSplit.Train));
    }
}
