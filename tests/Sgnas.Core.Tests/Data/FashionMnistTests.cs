using System.Diagnostics;
using Sgnas.Data;
using Xunit.Abstractions;

namespace Sgnas.Core.Tests.Data;

/// <summary>Skips, with the reason, where Debian's dataset-fashion-mnist is not installed.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute(bool train = false)
    {
        if (!FashionMnist.IsAvailable(train ? DatasetSplit.Train : DatasetSplit.Test))
            Skip = $"Fashion-MNIST not found in {FashionMnist.DefaultFolder}; install Debian package dataset-fashion-mnist.";
    }
}

public class FashionMnistTests(ITestOutputHelper output)
{
    [FashionMnistFact]
    public void TestSetHasTenBalancedClasses()
    {
        var test = FashionMnist.LoadTest();
        Assert.Equal(10000, test.Count);
        Assert.Equal((1, 28, 28), (test.Channels, test.Height, test.Width));
        Assert.Equal(10, test.ClassCount);
        Assert.All(test.CountPerClass(), n => Assert.Equal(1000, n));
        Assert.Equal("Ankle boot", test.ClassNames[9]);
    }

    [FashionMnistFact(train: true)]
    public void TrainSetLoadsAndMatchesPublishedStatistics()
    {
        var sw = Stopwatch.StartNew();
        var train = FashionMnist.LoadTrain();
        sw.Stop();
        output.WriteLine($"60k Fashion-MNIST training images loaded in {sw.ElapsedMilliseconds} ms");
        Assert.Equal(60000, train.Count);
        Assert.All(train.CountPerClass(), n => Assert.Equal(6000, n));
        // Load time is reported, not asserted: timing belongs in benchmarks on shared machines.

        var stats = train.ComputeNormalization();
        Assert.Equal(ChannelNormalization.FashionMnist.Mean[0], stats.Mean[0], 3);
        Assert.Equal(ChannelNormalization.FashionMnist.Std[0], stats.Std[0], 3);
    }
}
