using Sgnas.Data;

namespace Sgnas.Core.Tests.Data;

public class CifarBinaryReaderTests
{
    private static void WriteCifar10(DataFiles d, string folder = "")
    {
        for (int b = 1; b <= 5; b++) d.Write(Path.Combine(folder, $"data_batch_{b}.bin"), DataFiles.CifarRecords([(byte)b, (byte)(b + 4)], firstImage: 2 * (b - 1)));
        d.Write(Path.Combine(folder, "test_batch.bin"), DataFiles.CifarRecords([9, 0, 3]));
    }

    [Fact]
    public void ReadsCifar10TrainAndTestInBatchOrder()
    {
        using var d = new DataFiles();
        WriteCifar10(d);
        Assert.Equal(CifarVariant.Cifar10, CifarBinaryReader.Detect(d.Root));

        var train = CifarBinaryReader.Read(d.Root, DatasetSplit.Train);
        Assert.Equal((10, 3, 32, 32, 10), (train.Count, train.Channels, train.Height, train.Width, train.ClassCount));
        Assert.Equal(new[] { 1, 5, 2, 6, 3, 7, 4, 8, 5, 9 }, train.Labels);
        Assert.Equal("airplane", train.ClassNames[0]);
        // Image 7 (second record of batch 4): green channel, row 5, column 6.
        Assert.Equal(DataFiles.Pixel(7, 1, 5, 6), train.GetImage(7)[1024 + 5 * 32 + 6]);

        var test = CifarBinaryReader.Read(d.Root, DatasetSplit.Test);
        Assert.Equal(new[] { 9, 0, 3 }, test.Labels);
        Assert.Equal(DataFiles.Pixel(2, 2, 31, 31), test.GetImage(2)[3071]);
    }

    [Fact]
    public void ReadsCifar100FineOrCoarseWithNamesFromArchiveSubfolder()
    {
        using var d = new DataFiles();
        string sub = "cifar-100-binary";
        d.Write(Path.Combine(sub, "train.bin"), DataFiles.CifarRecords([99, 42], coarse: [19, 3]));
        d.Write(Path.Combine(sub, "test.bin"), DataFiles.CifarRecords([5], coarse: [0]));
        File.WriteAllLines(d.PathOf(Path.Combine(sub, "coarse_label_names.txt")), Enumerable.Range(0, 20).Select(i => $"super{i}").Append(""));

        Assert.Equal(CifarVariant.Cifar100, CifarBinaryReader.Detect(d.Root));
        var fine = CifarBinaryReader.Read(d.Root, DatasetSplit.Train);
        Assert.Equal(new[] { 99, 42 }, fine.Labels);
        Assert.Equal(100, fine.ClassCount);
        Assert.Equal("99", fine.ClassNames[99]);
        Assert.Equal(DataFiles.Pixel(1, 0, 0, 0), fine.GetImage(1)[0]);

        var coarse = CifarBinaryReader.Read(d.Root, DatasetSplit.Train, CifarLabelKind.Coarse);
        Assert.Equal(new[] { 19, 3 }, coarse.Labels);
        Assert.Equal(20, coarse.ClassCount);
        Assert.Equal("super19", coarse.ClassNames[19]);
    }

    [Fact]
    public void PartialRecordNamesFileAndRecord()
    {
        using var d = new DataFiles();
        WriteCifar10(d);
        var bytes = DataFiles.CifarRecords([1, 2, 3]);
        string p = d.Write("data_batch_3.bin", bytes.AsSpan(0, 3073 * 2 + 100).ToArray());
        var e = Assert.Throws<InvalidDataException>(() => CifarBinaryReader.Read(d.Root, DatasetSplit.Train));
        Assert.Contains(p, e.Message);
        Assert.Contains("record 2 (offset 6146)", e.Message);
        Assert.Contains("not a multiple of the 3073-byte", e.Message);
    }

    [Fact]
    public void LabelOutOfRangeNamesFileAndRecord()
    {
        using var d = new DataFiles();
        string p = d.Write("test.bin", DataFiles.CifarRecords([1, 100], coarse: [1, 1]));
        var e = Assert.Throws<InvalidDataException>(() => CifarBinaryReader.Read(d.Root, DatasetSplit.Test));
        Assert.Contains(p, e.Message);
        Assert.Contains("record 1 (offset 3075)", e.Message);
        Assert.Contains("fine label 100", e.Message);

        string q = d.Write("train.bin", DataFiles.CifarRecords([1], coarse: [20]));
        e = Assert.Throws<InvalidDataException>(() => CifarBinaryReader.Read(d.Root, DatasetSplit.Train, CifarLabelKind.Coarse));
        Assert.Contains("coarse label 20", e.Message);
    }

    [Fact]
    public void AMissingBatchLeavesTheOthersAndNoBatchIsNamed()
    {
        // Issue 13: any non-empty subset of data_batch_*.bin is a training set; only none at all is an error.
        using var d = new DataFiles();
        WriteCifar10(d);
        int all = CifarBinaryReader.Read(d.Root, DatasetSplit.Train).Count;
        long perBatch = new FileInfo(d.PathOf("data_batch_4.bin")).Length / 3073;
        File.Delete(d.PathOf("data_batch_4.bin"));
        Assert.Equal(all - perBatch, CifarBinaryReader.Read(d.Root, DatasetSplit.Train).Count);
        foreach (var f in Directory.GetFiles(d.Root, "data_batch_*.bin")) File.Delete(f);
        var e = Assert.Throws<FileNotFoundException>(() => CifarBinaryReader.Read(d.Root, DatasetSplit.Train));
        Assert.Contains("data_batch_1.bin", e.Message);
    }
}
