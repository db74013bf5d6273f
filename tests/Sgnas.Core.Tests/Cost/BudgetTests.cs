using Sgnas.Cost;

namespace Sgnas.Core.Tests.Cost;

/// <summary>The budget value every entry point parses (docs/latency.md, "Budgets").</summary>
public class BudgetTests
{
    [Theory]
    [InlineData("3", ConstraintKind.Flops, 3.0)]
    [InlineData("3M", ConstraintKind.Flops, 3.0)]
    [InlineData(" 2.5 MFLOPs ", ConstraintKind.Flops, 2.5)]
    [InlineData("0.15ms", ConstraintKind.Latency, 0.15)]
    [InlineData("0.15 MS", ConstraintKind.Latency, 0.15)]
    [InlineData("1e-1ms", ConstraintKind.Latency, 0.1)]
    public void ParsesNumbersWithAndWithoutUnits(string text, ConstraintKind kind, double value)
    {
        var b = Budget.Parse(text);
        Assert.Equal(kind, b.Kind);
        Assert.Equal(value, b.Value, 12);
        Assert.Equal(b, Budget.Parse(b.ToString()));
    }

    [Fact]
    public void UnitlessValuesTakeTheDefaultKind()
    {
        Assert.Equal(Budget.Milliseconds(0.2), Budget.Parse("0.2", ConstraintKind.Latency));
        Assert.Equal(new[] { Budget.Milliseconds(0.1), Budget.Milliseconds(0.2) }, Budget.ParseList("0.1, 0.2ms", ConstraintKind.Latency));
        Assert.Equal("0.15 ms", Budget.Milliseconds(0.15).ToString());
        Assert.Equal("3 M", Budget.Flops(3).ToString());
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("3 GB")]
    [InlineData("-1ms")]
    [InlineData("0")]
    [InlineData("1,5ms")]
    public void RejectsWhatIsNotAPositiveBudget(string text)
    {
        Assert.Throws<FormatException>(() => text.Contains(',') ? Budget.ParseList(text).ToList() : new[] { Budget.Parse(text) }.ToList());
    }

    [Fact]
    public void ListsMayNotMixKinds()
    {
        var e = Assert.Throws<FormatException>(() => Budget.ParseList("3,0.1ms"));
        Assert.Contains("mix", e.Message);
        Assert.Throws<FormatException>(() => Budget.ParseList(" , "));
    }

    [Fact]
    public void OptionsPairAllowsAtMostOne()
    {
        Assert.Null(Budget.FromOptions(null, null));
        Assert.Equal(Budget.Flops(3), Budget.FromOptions(3, null));
        Assert.Equal(Budget.Milliseconds(0.2), Budget.FromOptions(null, 0.2));
        var e = Assert.Throws<ArgumentException>(() => Budget.FromOptions(3, 0.2));
        Assert.Contains("TargetFlopsM", e.Message);
        Assert.Contains("TargetLatencyMs", e.Message);
        Assert.Throws<ArgumentException>(() => Budget.FromOptions(null, -0.2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Budget.Milliseconds(double.NaN));
    }
}
