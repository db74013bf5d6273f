using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;

namespace Sgnas.Core.Tests.Data;

/// <summary>Issue 13 cases 3 and 8: test data is never training data; messages name the file, field and what is expected.</summary>
public sealed class HonestDataAndMessagesTests
{
    private static byte[] Labels(int n) => DataFiles.IdxLabels(Enumerable.Range(0, n).Select(i => (byte)(i % 3)).ToArray());

    [Fact]
    public void ASingleIdxFileHoldsOutADisjointDeterministicTestPart()
    {
        using var d = new DataFiles();
        // Every image differs (pixel 0 = its index), so overlap between the parts can be seen.
        byte[] images = DataFiles.IdxImages(100, 4, 4);
        for (int i = 0; i < 100; i++) images[16 + i * 16] = (byte)i;
        string file = d.Write("x-images-idx3-ubyte", images);
        d.Write("x-labels-idx1-ubyte", Labels(100));

        var train = DatasetLoader.Load(file, DatasetSplit.Train);
        var test = DatasetLoader.Load(file, DatasetSplit.Test);
        Assert.Equal(100, train.Count + test.Count);
        Assert.InRange(test.Count, 19, 21); // 20 % of each class, rounded per class
        var trainIds = Enumerable.Range(0, train.Count).Select(i => train.GetImage(i)[0]).ToHashSet();
        var testIds = Enumerable.Range(0, test.Count).Select(i => test.GetImage(i)[0]).ToHashSet();
        Assert.Empty(trainIds.Intersect(testIds));
        Assert.Contains("held-out test part", test.Source);
        Assert.Contains($"{test.Count} of 100", test.Source);
        Assert.Contains("never used for training", test.Source);
        Assert.Contains("training part", train.Source);
        // Deterministic: the same images every time.
        Assert.Equal(test.Pixels, DatasetLoader.Load(file, DatasetSplit.Test).Pixels);
        Assert.Contains("held-out test part", DatasetLoader.Describe(file, DatasetSplit.Test));
    }

    [Fact]
    public void AnImageFolderWithoutTestSubfolderHoldsOutATestPart()
    {
        using var d = new DataFiles();
        for (int c = 0; c < 2; c++)
            for (int i = 0; i < 30; i++)
                d.Write(Path.Combine($"class{c}", $"img{i:00}.png"), [0]);
        var train = ImageFolderIndex.Scan(d.Root, DatasetSplit.Train);
        var test = ImageFolderIndex.Scan(d.Root, DatasetSplit.Test);
        Assert.Equal(60, train.Files.Count + test.Files.Count);
        Assert.InRange(test.Files.Count, 4, 24);
        Assert.Empty(train.Files.Select(f => f.RelativePath).Intersect(test.Files.Select(f => f.RelativePath)));
        Assert.Contains("held-out test part", test.Source);
        Assert.Contains($"{test.Files.Count} of 60", test.Source);

        // With a test/ sub-folder, that folder is the test set and train/ is used whole.
        using var e = new DataFiles();
        for (int i = 0; i < 5; i++) { e.Write($"train/a/{i}.png", [0]); e.Write($"train/b/{i}.png", [0]); }
        e.Write("test/a/t.png", [0]); e.Write("test/b/t.png", [0]);
        Assert.Equal(10, ImageFolderIndex.Scan(e.Root, DatasetSplit.Train).Files.Count);
        Assert.Equal(2, ImageFolderIndex.Scan(e.Root, DatasetSplit.Test).Files.Count);
    }

    [Fact]
    public void CifarTrainingAcceptsAnyNonEmptySubsetOfBatches()
    {
        using var d = new DataFiles();
        d.Write("data_batch_2.bin", DataFiles.CifarRecords([1, 2]));
        d.Write("data_batch_4.bin", DataFiles.CifarRecords([3]));
        d.Write("test_batch.bin", DataFiles.CifarRecords([0]));
        var train = CifarBinaryReader.Read(d.Root, DatasetSplit.Train);
        Assert.Equal(new[] { 1, 2, 3 }, train.Labels);
        Assert.Contains("data_batch_2.bin", train.Source);

        using var none = new DataFiles();
        none.Write("test_batch.bin", DataFiles.CifarRecords([0]));
        var e = Assert.Throws<FileNotFoundException>(() => CifarBinaryReader.Read(none.Root, DatasetSplit.Train));
        Assert.Contains("no CIFAR-10 training batch", e.Message);
    }

    [Fact]
    public void ACorruptGzipIsNamedAsNotValidGzip()
    {
        using var d = new DataFiles();
        byte[] gz = DataFiles.Gzip(DataFiles.IdxImages(3, 4, 4));
        gz[2] = 0x07; // compression method byte: not deflate
        string p = d.Write("t-images-idx3-ubyte.gz", gz);
        var e = Assert.Throws<InvalidDataException>(() => IdxReader.ReadImages(p));
        Assert.Contains(p, e.Message);
        Assert.Contains("not valid gzip", e.Message);
    }

    [Fact]
    public void JunkGeneratorJsonNamesTheFileAndField()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sgnas-junk-" + Guid.NewGuid().ToString("N"));
        try
        {
            var run = new RunFolder(dir);
            var preset = Core.Tests.Generation.GeneratorTestData.Tiny();
            using (var g = ArchitectureGenerator.For(preset))
            {
                Directory.CreateDirectory(dir);
                AtomicFile.SaveModule(run.GeneratorWeights, g);
            }
            foreach (var (json, expect) in new[]
                     {
                         ("""{"formatVersion": 1}""", "field 'preset' is missing"),
                         ("[1, 2]", "expected a JSON object"),
                         ("{ junk", "not valid JSON"),
                         ("{\"preset\": " + preset.ToJson() + ", \"network\": {\"constraintChannels\": \"ten\"}}", "field 'network.constraintChannels' is \"ten\"; expected a number"),
                     })
            {
                File.WriteAllText(run.GeneratorMeta, json);
                var e = Assert.Throws<InvalidDataException>(() => ArchitectureGeneratorModel.Load(run, torch.CPU, preset));
                Assert.Contains(run.GeneratorMeta, e.Message);
                Assert.Contains(expect, e.Message);
                Assert.DoesNotContain("Object reference", e.Message);
            }
        }
        finally { try { Directory.Delete(dir, true); } catch (IOException) { } }
    }

    [Fact]
    public void GarbageSupernetJsonGivesTheWholeMessageOnOneLine()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sgnas-garbage-" + Guid.NewGuid().ToString("N"));
        try
        {
            var run = new RunFolder(dir);
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(run.SupernetWeights, [1]);
            File.WriteAllText(run.SupernetMeta, "{\n  \"preset\": \n  garbage\n}");
            var e = Assert.Throws<InvalidDataException>(() => SupernetCheckpoint.ReadInfo(run));
            Assert.DoesNotContain('\n', e.Message);
            Assert.Contains(run.SupernetMeta, e.Message);
            Assert.Contains("expected the JSON written by train-supernet", e.Message);
        }
        finally { try { Directory.Delete(dir, true); } catch (IOException) { } }
    }
}
