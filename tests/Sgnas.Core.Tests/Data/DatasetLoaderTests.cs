using Sgnas.Data;

namespace Sgnas.Core.Tests.Data;

public class DatasetLoaderTests
{
    [Fact]
    public void DetectsEachLayoutAndLoadsSplits()
    {
        using var d = new DataFiles();
        string idx = Path.Combine(d.Root, "idx");
        d.Write("idx/train-images-idx3-ubyte.gz", DataFiles.Gzip(DataFiles.IdxImages(4, 3, 3)));
        d.Write("idx/train-labels-idx1-ubyte.gz", DataFiles.Gzip(DataFiles.IdxLabels(0, 1, 2, 3)));
        d.Write("idx/t10k-images-idx3-ubyte", DataFiles.IdxImages(2, 3, 3));
        d.Write("idx/t10k-labels-idx1-ubyte", DataFiles.IdxLabels(5, 6));
        Assert.Equal(DatasetFormat.Idx, DatasetLoader.Detect(idx));
        Assert.Equal(4, DatasetLoader.Load(idx, DatasetSplit.Train).Count);
        Assert.Equal(new[] { 5, 6 }, DatasetLoader.Load(idx, DatasetSplit.Test).Labels);
        // One images file has no test set: training and test are disjoint parts of it (issue 13 case 3).
        string single = Path.Combine(idx, "train-images-idx3-ubyte.gz");
        Assert.Equal(4, DatasetLoader.Load(single).Count + DatasetLoader.Load(single, DatasetSplit.Test).Count);
        Assert.Equal(1, DatasetLoader.Load(single, DatasetSplit.Test).Count);

        d.Write("c10/test_batch.bin", DataFiles.CifarRecords([1]));
        Assert.Equal(DatasetFormat.Cifar10, DatasetLoader.Detect(d.PathOf("c10")));
        Assert.Equal(3, DatasetLoader.Load(d.PathOf("c10"), DatasetSplit.Test).Channels);

        d.Write("c100/train.bin", DataFiles.CifarRecords([1], coarse: [2]));
        Assert.Equal(DatasetFormat.Cifar100, DatasetLoader.Detect(d.PathOf("c100")));
        Assert.Equal(2, DatasetLoader.Load(d.PathOf("c100"), cifarLabels: CifarLabelKind.Coarse).Labels[0]);
    }

    [Fact]
    public void ImageFolderPointsToMLNetLayer()
    {
        using var d = new DataFiles();
        d.Write("imgs/cat/a.png", [0x89, 0x50]);
        d.Write("imgs/dog/b.JPG", [0xFF, 0xD8]);
        Assert.Equal(DatasetFormat.ImageFolder, DatasetLoader.Detect(d.PathOf("imgs")));
        var e = Assert.Throws<NotSupportedException>(() => DatasetLoader.Load(d.PathOf("imgs")));
        Assert.Contains("LoadFromImageFolder", e.Message);

        var index = ImageFolderIndex.Scan(d.PathOf("imgs"));
        Assert.Equal(new[] { "cat", "dog" }, index.ClassNames);
        Assert.Equal(new[] { ("cat/a.png", 0), ("dog/b.JPG", 1) }, index.Files);
    }

    [Fact]
    public void UnknownFolderListsWhatIsAccepted()
    {
        using var d = new DataFiles();
        d.Write("other/readme.txt", [1]);
        var e = Assert.Throws<FileNotFoundException>(() => DatasetLoader.Detect(d.PathOf("other")));
        Assert.Contains("IDX", e.Message);
        Assert.Contains("CIFAR", e.Message);
        Assert.Throws<FileNotFoundException>(() => DatasetLoader.Detect(d.PathOf("missing")));
    }

    [Fact]
    public void MissingFashionMnistSaysWhichPackage()
    {
        using var d = new DataFiles();
        var e = Assert.Throws<FileNotFoundException>(() => FashionMnist.LoadTest(d.Root));
        Assert.Contains("dataset-fashion-mnist", e.Message);
        Assert.Contains(d.Root, e.Message);
    }
}
