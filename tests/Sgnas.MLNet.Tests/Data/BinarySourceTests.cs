using System.Buffers.Binary;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;
using Sgnas.MLNet.Data;

namespace Sgnas.MLNet.Tests.Data;

public class BinarySourceTests
{
    private static byte[] Idx(int magic, params int[] dims)
    {
        int n = dims.Aggregate(1, (a, b) => a * b);
        var b = new byte[4 + 4 * dims.Length + n];
        BinaryPrimitives.WriteInt32BigEndian(b, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4 + 4 * i), dims[i]);
        for (int i = 0; i < n; i++) b[4 + 4 * dims.Length + i] = (byte)(i * 7);
        return b;
    }

    private static byte[] Gzip(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest)) gz.Write(data);
        return ms.ToArray();
    }

    [Fact]
    public void IdxViewHasKeyLabelAndRawChwFeatures()
    {
        using var d = new TempDir();
        d.Write("train-images-idx3-ubyte.gz", Gzip(Idx(0x803, 3, 2, 4)));
        var labels = Idx(0x801, 3);
        labels[8] = 4; labels[9] = 0; labels[10] = 2;
        d.Write("train-labels-idx1-ubyte.gz", Gzip(labels));

        var view = new MLContext().Data.LoadFromIdx(d.Root, classNames: ["a", "b", "c", "d", "e"]);
        Assert.Equal(new KeyDataViewType(typeof(uint), 5), view.Schema["Label"].Type);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 1, 2, 4), view.Schema["Features"].Type);
        Assert.Equal(3L, view.GetRowCount());

        var keys = view.GetColumn<uint>("Label").ToArray();
        Assert.Equal(new uint[] { 5, 1, 3 }, keys);                  // key = class index + 1
        var rows = view.GetColumn<float[]>("Features").ToArray();
        Assert.Equal(Enumerable.Range(8, 8).Select(i => (float)(byte)(i * 7)), rows[1]);

        var ds = view.ToImageDataset();
        Assert.Equal(new[] { 4, 0, 2 }, ds.Labels);
        Assert.Equal("e", ds.ClassNames[4]);
        Assert.Equal((1, 2, 4), (ds.Channels, ds.Height, ds.Width));
    }

    [Fact]
    public void CifarViewAndTrainerPipelineWork()
    {
        using var d = new TempDir();
        var rec = new byte[2 * 3073];
        rec[0] = 7; rec[3073] = 2;
        for (int i = 0; i < 3072; i++) { rec[1 + i] = (byte)i; rec[3074 + i] = (byte)(255 - i % 256); }
        d.Write("test_batch.bin", rec);

        var ml = new MLContext(seed: 0);
        var view = ml.Data.LoadFromCifarBinary(d.Root, DatasetSplit.Test);
        Assert.Equal(new VectorDataViewType(NumberDataViewType.Single, 3, 32, 32), view.Schema["Features"].Type);
        VBuffer<ReadOnlyMemory<char>> names = default;
        view.Schema["Label"].GetKeyValues(ref names);
        Assert.Equal("horse", names.GetValues()[7].ToString());

        var ds = view.ToImageDataset();
        Assert.Equal(new[] { 7, 2 }, ds.Labels);
        Assert.Equal(rec.AsSpan(1, 3072).ToArray(), ds.GetImage(0).ToArray());

        // The schema feeds a stock ML.NET trainer unchanged: key label, known-size float vector.
        var model = ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(maximumNumberOfIterations: 2).Fit(view);
        Assert.Equal(2, ml.Data.CreateEnumerable<Pred>(model.Transform(view), false).Count());
    }

    private sealed class Pred
    {
        public uint PredictedLabel { get; set; }
    }

    [Fact]
    public void ShuffledCursorVisitsEveryRowOnce()
    {
        var ds = new ImageDataset(Enumerable.Range(0, 40).Select(i => (byte)i).ToArray(), 1, 2, 2, Enumerable.Range(0, 10).ToArray(), 10);
        var ml = new MLContext(seed: 3);
        var shuffled = ml.Data.ShuffleRows(ml.Data.LoadFromImageDataset(ds));
        var firsts = shuffled.GetColumn<float[]>("Features").Select(f => (int)f[0] / 4).ToArray();
        var keys = shuffled.GetColumn<uint>("Label").Select(k => (int)k - 1).ToArray();
        Assert.Equal(Enumerable.Range(0, 10), firsts.Order());
        Assert.Equal(firsts, keys);
    }

    [Fact]
    public void IdxErrorsSurfaceThroughCatalog()
    {
        using var d = new TempDir();
        d.Write("t10k-images-idx3-ubyte", Idx(0x803, 3, 2, 2));
        d.Write("t10k-labels-idx1-ubyte", Idx(0x801, 2));
        var ml = new MLContext();
        var e = Assert.Throws<InvalidDataException>(() => ml.Data.LoadFromIdx(d.Root, DatasetSplit.Test));
        Assert.Contains("3 images", e.Message);
        Assert.Throws<FileNotFoundException>(() => ml.Data.LoadFromIdx(d.Root, DatasetSplit.Train));
    }

    [Fact]
    public void CifarBadLengthSurfacesThroughCatalog()
    {
        using var d = new TempDir();
        string p = d.Write("test.bin", new byte[3074 + 10]);
        var e = Assert.Throws<InvalidDataException>(() => new MLContext().Data.LoadFromCifarBinary(d.Root, DatasetSplit.Test));
        Assert.Contains(p, e.Message);
        Assert.Contains("record 1", e.Message);
    }
}
