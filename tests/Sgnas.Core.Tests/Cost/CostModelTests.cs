using Sgnas.Cost;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Cost;

public class CostModelTests
{
    [Fact]
    public void MobileNetV2CountsAbout300MMacsAnd3Point5MParameters()
    {
        var p = SearchSpacePreset.Load("mobilenetv2");
        var cost = FlopsCounter.Count(p, Architecture.Uniform(p.LayerCount, 6, 3));
        // Published: 300 M MACs, 3.4-3.5 M parameters (torchvision: 3,504,872 incl. classifier).
        Assert.InRange(cost.FlopsM, 295, 305);
        Assert.Equal(3_504_872, cost.Parameters);
    }

    public static IEnumerable<object[]> Presets() => new[] { "fashion-small", "cifar", "imagenet" }.Select(n => new object[] { n });

    [Theory, MemberData(nameof(Presets))]
    public void Eq9EqualsExactCounterForOneHotWeights(string name)
    {
        var p = SearchSpacePreset.Load(name);
        var lut = new FlopsLookupTable(p);
        var sampler = new ArchitectureSampler(p, 11);
        int n = name == "imagenet" ? 2 : 4;
        var archs = Enumerable.Range(0, n).Select(_ => sampler.Sample())
            .Append(Architecture.Smallest(p)).Append(Architecture.Largest(p)).ToList();
        foreach (var a in archs)
        {
            double exact = FlopsCounter.Count(p, a).FlopsM;
            Assert.Equal(exact, lut.CostM(a), 6);
            // the tensor form of Eq. 9 agrees with the scalar form
            using var m = tensor(a.ToOneHot(p), new long[] { 1, p.LayerCount, p.MaxExpansion, p.OptionCount });
            Assert.Equal(exact, lut.CostM(m).item<float>(), exact * 1e-5);
        }
    }

    [Fact]
    public void Eq9OnHandComputedOneLayerSpace()
    {
        // One layer, c_in=2 -> c_out=4, stride 1, 4x4 input; stem/first block/head fixed.
        var p = new SearchSpacePreset
        {
            Name = "tiny", InputChannels = 1, InputSize = 4, NumClasses = 2, StemChannels = 2, StemStride = 1,
            FirstBlockChannels = 2, Layers = new[] { new LayerSpec(4, 1) }, HeadChannels = 3,
        };
        var lut = new FlopsLookupTable(p);
        // stem 16*9*1*2=288, first dw 16*9*2=288, first pw 16*2*2=64, head 16*4*3=192
        Assert.Equal(288 + 288 + 64 + 192, lut.FixedMacs);
        // DW(k) = 16 * k^2 * 2 ; PW1 + PW2 = 16*2*12 + 16*12*4 = 384 + 768
        Assert.Equal(16 * 9 * 2, lut.DepthwiseMacs[0, 0]);
        Assert.Equal(16 * 49 * 2, lut.DepthwiseMacs[0, 2]);
        Assert.Equal(1152, lut.PointwiseMacs[0]);
        // relaxed: every sub-block 50% k3, 50% skip except the first two (100% k5)
        var m = new float[6 * 4];
        for (int j = 0; j < 6; j++)
        {
            if (j < 2) m[j * 4 + 1] = 1f; else { m[j * 4 + 0] = 0.5f; m[j * 4 + 3] = 0.5f; }
        }
        double dw = 2 * 16 * 25 * 2 + 4 * 0.5 * 16 * 9 * 2;
        double pw = (1 - 2.0 / 6) * 1152;
        Assert.Equal((832 + dw + pw) / 1e6, lut.CostM(m), 12);
    }

    [Fact]
    public void Eq9IsDifferentiable()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var lut = new FlopsLookupTable(p);
        var m = full(new long[] { 2, p.LayerCount, 6, 4 }, 0.25f).requires_grad_(true);
        var c = lut.CostM(m).sum();
        c.backward();
        var g = m.grad!;
        // d cost / d m[skip] = -PW/6 (negative), d cost / d m[k7] = DW(7) > 0
        Assert.True(g[0, 0, 3, 3].item<float>() < 0);
        Assert.Equal(lut.DepthwiseMacs[0, 2] / 1e6, g[0, 0, 0, 2].item<float>(), 1e-6);
        Assert.Equal(-lut.PointwiseMacs[0] / 6e6, g[1, 0, 5, 3].item<float>(), 1e-6);
    }

    [Fact]
    public void RangeIsOrderedAndInsideItTheSmallestIsCheapest()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var lut = new FlopsLookupTable(p);
        var (min, max) = lut.Range();
        Assert.True(min < max);
        var s = new ArchitectureSampler(p, 3);
        for (int i = 0; i < 100; i++) Assert.InRange(lut.CostM(s.Sample()), min, max);
    }

    [Fact]
    public void UnifiedSupernetHasFewerParametersThanConventional()
    {
        var p = SearchSpacePreset.Load("imagenet");
        using var sn = new Supernet(p);
        long unified = sn.ParameterCount();
        long six = ConventionalSupernet.Parameters(p, ConventionalSupernet.SixCandidates);
        long thirteen = ConventionalSupernet.Parameters(p, ConventionalSupernet.ThirteenCandidates);
        Assert.True(unified < six && six < thirteen, $"unified {unified}, six {six}, thirteen {thirteen}");
    }

    [Fact]
    public void ConventionalBlockFormulaMatchesBuiltBlocks()
    {
        var p = SearchSpacePreset.Load("cifar");
        var g = p.Geometry()[3];
        foreach (var (t, k) in new[] { (2, 3), (3, 5), (6, 7) })
        {
            using var block = new ChildBlock(g, new LayerChoice(Enumerable.Repeat(k, t)), new ChildNetworkOptions());
            Assert.Equal(block.parameters().Sum(x => x.numel()), ConventionalSupernet.BlockParameters(g, new MbConvCandidate(t, k)));
        }
    }
}
