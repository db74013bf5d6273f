using Sgnas.Cost;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Cost;

/// <summary>Constraint kinds: the cost model chosen by kind, and run folders that remember their kind (docs/latency.md).</summary>
public sealed class ConstraintKindTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-constraint-").FullName;

    [Fact]
    public void KindChoosesTheCostModel()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var table = LatencyCostModelTests.SyntheticTable(p, 23);
        var flops = ConstraintCost.Create(ConstraintKind.Flops, p);
        var latency = ConstraintCost.Create(ConstraintKind.Latency, p, table);
        Assert.Equal("M", flops.Unit);
        Assert.Equal("ms", latency.Unit);
        var a = new ArchitectureSampler(p, 8).Sample();
        Assert.Equal(new FlopsLookupTable(p).CostM(a), flops.Of(a), 9);
        Assert.Equal(table.SumMs(a), latency.Of(a), 9);
        using var m = tensor(a.ToOneHot(p), new long[] { 1, p.LayerCount, p.MaxExpansion, p.OptionCount }, dtype: float64).requires_grad_(true);
        using var y = latency.Of(m);
        Assert.Equal(table.SumMs(a), y.item<double>(), 9);
        y.sum().backward();
        Assert.NotNull(m.grad);
        var e = Assert.Throws<ArgumentException>(() => ConstraintCost.Create(ConstraintKind.Latency, p));
        Assert.Contains("sgnas latency-table --preset fashion-small", e.Message);
        Assert.Equal(ConstraintKind.Latency, ConstraintKinds.Parse("Latency"));
        Assert.Throws<FormatException>(() => ConstraintKinds.Parse("params"));
    }

    [Fact]
    public void RunFolderRemembersItsKindAndRefusesTheOther()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        // a folder without constraint.json is a FLOPs folder
        Assert.Null(RunConstraint.Require(_dir, ConstraintKind.Flops));
        var e1 = Assert.Throws<InvalidOperationException>(() => RunConstraint.Require(_dir, ConstraintKind.Latency));
        Assert.Contains("trained for FLOPs budgets", e1.Message);

        var table = LatencyCostModelTests.SyntheticTable(p, 29);
        RunConstraint.Write(_dir, ConstraintKind.Latency, table);
        var back = RunConstraint.Require(_dir, ConstraintKind.Latency);
        Assert.NotNull(back);
        var a = new ArchitectureSampler(p, 1).Sample();
        Assert.Equal(table.SumMs(a), back!.SumMs(a), 12);
        var e2 = Assert.Throws<InvalidOperationException>(() => RunConstraint.Require(_dir, ConstraintKind.Flops));
        Assert.Contains("trained for latency budgets", e2.Message);
        Assert.Contains("--budget-ms", e2.Message);

        // a replaced table is refused
        var other = LatencyCostModelTests.SyntheticTable(p, 31);
        File.WriteAllText(Path.Combine(_dir, RunConstraint.LatencyTableFileName), other.ToJson());
        Assert.Contains("SHA-256 differs", Assert.Throws<InvalidOperationException>(() => RunConstraint.Require(_dir, ConstraintKind.Latency)).Message);
        Assert.Throws<ArgumentException>(() => RunConstraint.Write(_dir, ConstraintKind.Latency));
    }

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
