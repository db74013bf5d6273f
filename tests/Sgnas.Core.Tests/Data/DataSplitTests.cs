using Sgnas.Data;

namespace Sgnas.Core.Tests.Data;

public class DataSplitTests
{
    [Fact]
    public void SplitIsDeterministicDisjointAndComplete()
    {
        var a = DataSplit.TrainValidation(1000, 0.1, seed: 7);
        var b = DataSplit.TrainValidation(1000, 0.1, seed: 7);
        var c = DataSplit.TrainValidation(1000, 0.1, seed: 8);
        Assert.Equal(a.Validation, b.Validation);
        Assert.NotEqual(a.Validation, c.Validation);
        Assert.Equal(100, a.Validation.Length);
        Assert.Empty(a.Train.Intersect(a.Validation));
        Assert.Equal(Enumerable.Range(0, 1000), a.Train.Concat(a.Validation).Order());
    }

    [Fact]
    public void StratifiedSplitKeepsClassProportions()
    {
        var labels = Enumerable.Range(0, 300).Select(i => i < 200 ? 0 : i < 290 ? 1 : 2).ToArray();
        var s = DataSplit.TrainValidation(labels.Length, 0.2, 1, labels);
        Assert.Equal(40, s.Validation.Count(i => labels[i] == 0));
        Assert.Equal(18, s.Validation.Count(i => labels[i] == 1));
        Assert.Equal(2, s.Validation.Count(i => labels[i] == 2));

        var h = DataSplit.HoldOutPerClass(labels, 3, 1);
        Assert.All(new[] { 0, 1, 2 }, k => Assert.Equal(3, h.Validation.Count(i => labels[i] == k)));
        Assert.Throws<ArgumentException>(() => DataSplit.HoldOutPerClass(labels, 10, 1));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(1.0)]
    [InlineData(-0.5)]
    [InlineData(double.NaN)]
    public void FractionOutsideOpenIntervalIsRejected(double f)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => DataSplit.TrainValidation(10, f, 0));
        Assert.Contains("(0, 1)", e.Message);
    }

    [Fact]
    public void EmptyPartIsRejected()
    {
        Assert.Contains("validation part is empty", Assert.Throws<ArgumentException>(() => DataSplit.TrainValidation(3, 0.1, 0)).Message);
        Assert.Contains("training part is empty", Assert.Throws<ArgumentException>(() => DataSplit.TrainValidation(1, 0.9, 0)).Message);
    }
}
