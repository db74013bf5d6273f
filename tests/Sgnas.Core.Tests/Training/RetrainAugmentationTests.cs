using Sgnas.Data;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Training;

/// <summary>RandomResizedCrop (ImageNet-style augmentation used by retraining at ≥ 64 px).</summary>
public class RetrainAugmentationTests
{
    [Fact]
    public void KeepsTheBatchShapeAndRepeatsUnderASeed()
    {
        using var x = rand(5, 3, 64, 48);
        var aug = BatchAugmentations.RandomResizedCrop();
        using var a = aug(x, new Random(4));
        using var b = aug(x, new Random(4));
        using var c = aug(x, new Random(5));
        Assert.Equal(x.shape, a.shape);
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.allclose(c));
        // bilinear interpolation of values in [0, 1] stays in [0, 1]
        Assert.True(a.min().item<float>() >= 0 && a.max().item<float>() <= 1);
    }

    [Fact]
    public void FullScaleSquareCropIsTheIdentityAndFlipMirrors()
    {
        using var x = rand(2, 1, 16, 16);
        using var same = BatchAugmentations.RandomResizedCropAndFlip(x, 1, 1, 1, 1, horizontalFlip: false, new Random(1));
        Assert.True(same.allclose(x, rtol: 1e-5, atol: 1e-6));
        // with flips on, every image is either itself or its mirror
        using var flipped = BatchAugmentations.RandomResizedCropAndFlip(x, 1, 1, 1, 1, horizontalFlip: true, new Random(2));
        for (int i = 0; i < 2; i++)
        {
            using var xi = x[i];
            using var fi = flipped[i];
            using var mirror = xi.flip(2);
            Assert.True(fi.allclose(xi, atol: 1e-6) || fi.allclose(mirror, atol: 1e-6));
        }
        using var empty = zeros(0, 1, 8, 8);
        using var e = BatchAugmentations.RandomResizedCropAndFlip(empty, 0.08, 1, 0.75, 4.0 / 3, true, new Random(0));
        Assert.Equal(empty.shape, e.shape);
    }

    [Fact]
    public void CropBoxesStayInsideTheImageWithinTheScaleAndRatio()
    {
        var random = new Random(9);
        for (int i = 0; i < 500; i++)
        {
            var (top, left, h, w) = BatchAugmentations.CropBox(40, 30, 0.08, 1, 0.75, 4.0 / 3, random);
            Assert.InRange(top, 0, 40 - h);
            Assert.InRange(left, 0, 30 - w);
            Assert.InRange(h * w, 0.07 * 1200, 1200);
        }
        // an impossible ratio for a 10x10 image falls back to the centred, clamped crop
        var box = BatchAugmentations.CropBox(10, 10, 1, 1, 2, 2, new Random(0));
        Assert.Equal((2, 0, 5, 10), box);
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchAugmentations.RandomResizedCrop(minScale: 0));
        using var bad = rand(3, 8, 8);
        Assert.Throws<ArgumentException>(() => BatchAugmentations.RandomResizedCrop()(bad, new Random(0)));
    }
}
