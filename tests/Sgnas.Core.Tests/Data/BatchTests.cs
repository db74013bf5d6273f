using Sgnas.Data;
using Sgnas.Runtime;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Data;

public class BatchTests
{
    public BatchTests() => TorchNative.EnsureLoaded();

    // Image i is 2 channels of 3x4; pixel value = 10*i + channel*100 + r*4 + c (fits in a byte for i < 5).
    private static ImageDataset Small(int count = 5)
    {
        var px = new byte[count * 24];
        for (int i = 0; i < count; i++)
            for (int k = 0; k < 24; k++)
                px[i * 24 + k] = (byte)(10 * i + (k / 12) * 100 + k % 12);
        return new ImageDataset(px, 2, 3, 4, Enumerable.Range(0, count).Select(i => i % 3).ToArray(), 3, ["a", "b", "c"]);
    }

    [Fact]
    public void ToBatchNormalizesPerChannel()
    {
        var ds = Small();
        var norm = new ChannelNormalization([0.5f, 0.1f], [0.25f, 2f]);
        using var b = ds.ToBatch([4, 1], norm);
        Assert.Equal(new long[] { 2, 2, 3, 4 }, b.Images.shape);
        Assert.Equal(ScalarType.Float32, b.Images.dtype);
        Assert.Equal(ScalarType.Int64, b.Labels.dtype);
        Assert.Equal(new long[] { 1, 1 }, b.Labels.data<long>().ToArray());
        Assert.Equal((40 + 100 + 2 * 4 + 3) / 255f, ((b.Images[0, 1, 2, 3].item<float>() * 2f) + 0.1f), 5);
        Assert.Equal((10 + 5) / 255f, b.Images[1, 0, 1, 1].item<float>() * 0.25f + 0.5f, 5);
        Assert.Throws<ArgumentException>(() => ds.ToBatch([0], ChannelNormalization.Identity(3)));
    }

    [Fact]
    public void SubsetAndStatistics()
    {
        var ds = Small();
        var s = ds.Subset([3, 3, 0]);
        Assert.Equal(new[] { 0, 0, 0 }, s.Labels);
        Assert.Equal(ds.GetImage(3).ToArray(), s.GetImage(1).ToArray());
        Assert.Equal(ds.ClassNames, s.ClassNames);

        var one = new ImageDataset([0, 255, 0, 255], 1, 2, 2, [0], 1);
        var st = one.ComputeNormalization();
        Assert.Equal(0.5f, st.Mean[0], 5);
        Assert.Equal(0.5f, st.Std[0], 5);
    }

    [Fact]
    public void ConstructorRejectsInconsistentData()
    {
        Assert.Contains("need 8", Assert.Throws<ArgumentException>(() => new ImageDataset(new byte[7], 1, 2, 2, [0, 0], 1)).Message);
        Assert.Contains("label of image 1 is 2", Assert.Throws<ArgumentException>(() => new ImageDataset(new byte[8], 1, 2, 2, [0, 2], 2)).Message);
    }

    [Fact]
    public void IteratorCoversEachIndexOncePerEpochAndReplaysBySeed()
    {
        var ds = Small(5);
        var it = new MiniBatchIterator(ds, 2, ChannelNormalization.Identity(2), seed: 3);
        Assert.Equal(3, it.BatchesPerEpoch);
        int[] Order(MiniBatchIterator m, int epoch) => m.Epoch(epoch).SelectMany(b => { using (b) return b.Indices; }).ToArray();

        var e0 = Order(it, 0);
        Assert.Equal(Enumerable.Range(0, 5), e0.Order());
        Assert.Equal(e0, Order(new MiniBatchIterator(ds, 2, ChannelNormalization.Identity(2), seed: 3), 0));
        Assert.True(Enumerable.Range(1, 6).Any(e => !Order(it, e).SequenceEqual(e0)), "epochs should reshuffle");

        var sub = new MiniBatchIterator(ds, 2, ChannelNormalization.Identity(2), 0, indices: [4, 2, 0], shuffle: false, dropLast: true);
        Assert.Equal(new[] { 4, 2 }, Order(sub, 0));
        using var first = sub.Epoch(0).First();
        Assert.Equal(new long[] { 1, 2 }, first.Labels.data<long>().ToArray());
    }

    [Fact]
    public void FlipOnlyMirrorsOrKeepsEachImage()
    {
        using var x = arange(2 * 3 * 4 * 5, ScalarType.Float32).view(2, 3, 4, 5);
        var seen = new HashSet<bool>();
        var rng = new Random(1);
        for (int t = 0; t < 20; t++)
        {
            using var y = BatchAugmentations.RandomCropAndFlip(x, 0, true, rng);
            for (int i = 0; i < 2; i++)
            {
                bool same = y[i].eq(x[i]).all().item<bool>();
                bool mirrored = y[i].eq(x[i].flip(2)).all().item<bool>();
                Assert.True(same || mirrored);
                seen.Add(mirrored);
            }
        }
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void CropIsAZeroFilledShiftWithinPadding()
    {
        using var x = arange(1, 1 + 3 * 2 * 5 * 5, ScalarType.Float32).view(3, 2, 5, 5);
        var rng = new Random(5);
        using var y = BatchAugmentations.RandomCropAndFlip(x, 2, false, rng);
        Assert.Equal(x.shape, y.shape);
        using var padded = nn.functional.pad(x, [2, 2, 2, 2]);
        for (int i = 0; i < 3; i++)
        {
            bool found = false;
            for (int dy = 0; dy <= 4 && !found; dy++)
                for (int dx = 0; dx <= 4 && !found; dx++)
                    found = y[i].eq(padded[i, .., dy..(dy + 5), dx..(dx + 5)]).all().item<bool>();
            Assert.True(found, $"image {i} is not a shifted crop");
        }

        using var again = BatchAugmentations.RandomCropAndFlip(x, 2, false, new Random(5));
        Assert.True(again.eq(y).all().item<bool>());
    }

    [Fact]
    public void IteratorAppliesAugmentationBeforeNormalization()
    {
        var ds = Small(4);
        var norm = new ChannelNormalization([0.2f, 0.3f], [0.5f, 0.5f]);
        // An augmentation that zeroes everything must come out as −mean/std after normalization.
        var it = new MiniBatchIterator(ds, 4, norm, 0, augmentation: (t, _) => zeros_like(t));
        using var b = it.Epoch(0).Single();
        Assert.Equal(-0.4f, b.Images[0, 0, 0, 0].item<float>(), 5);
        Assert.Equal(-0.6f, b.Images[3, 1, 2, 3].item<float>(), 5);
    }
}
