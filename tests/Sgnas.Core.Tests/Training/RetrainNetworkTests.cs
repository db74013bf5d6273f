using Sgnas.Cost;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Training;

/// <summary>The standalone network that stage 3 retrains.</summary>
public class RetrainNetworkTests
{
    private const string FashionArch = "e3:3,5,7|e4:3,3,5,5|e3:3,3,5|e4:3,5,5,7|e3:3,5,7|e2:5,7";

    public static IEnumerable<object[]> Variants() => new[]
    {
        new object[] { false, ActivationKind.ReLU6 },
        new object[] { true, ActivationKind.ReLU6 },
        new object[] { false, ActivationKind.HSwish },
        new object[] { true, ActivationKind.HSwish },
    };

    [Theory, MemberData(nameof(Variants))]
    public void ParametersAndMacsEqualTheCounterAndTheVariantRuns(bool se, ActivationKind act)
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var arch = ArchitectureCodec.Parse(FashionArch, p);
        var options = new ChildNetworkOptions(SqueezeExcite: se, Activation: act);
        torch.manual_seed(3);
        using var net = new ChildNetwork(p, arch, options);
        var counted = FlopsCounter.Count(p, arch, options);
        Assert.Equal(counted.Parameters, net.ParameterCount());
        Assert.Equal(counted.Macs, FlopsCounter.Count(net, p.InputChannels, p.InputSize).Macs);
        Assert.Equal(se, net.Blocks.All(b => b.SE != null));

        net.train();
        using var x = randn(4, 1, 28, 28);
        using var y = net.call(x);
        Assert.Equal(new long[] { 4, 10 }, y.shape);
        Assert.True(y.isfinite().all().item<bool>());
        y.sum().backward();
        Assert.All(net.parameters(), q => Assert.NotNull(q.grad));
    }

    [Fact]
    public void SqueezeExciteAddsParametersAndMacsAndHSwishChangesOutputsOnly()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var arch = ArchitectureCodec.Parse(FashionArch, p);
        var plain = FlopsCounter.Count(p, arch);
        var withSe = FlopsCounter.Count(p, arch, new ChildNetworkOptions(SqueezeExcite: true));
        var hswish = FlopsCounter.Count(p, arch, new ChildNetworkOptions(Activation: ActivationKind.HSwish));
        Assert.True(withSe.Parameters > plain.Parameters);
        Assert.True(withSe.Macs > plain.Macs);
        Assert.Equal(plain.Parameters, hswish.Parameters);
        Assert.Equal(plain.Macs, hswish.Macs);

        // Same weights (same seed), different activation: different outputs.
        using var x = randn(2, 1, 28, 28);
        torch.manual_seed(5);
        using var a = new ChildNetwork(p, arch);
        torch.manual_seed(5);
        using var b = new ChildNetwork(p, arch, new ChildNetworkOptions(Activation: ActivationKind.HSwish));
        a.eval(); b.eval();
        using var ya = a.call(x);
        using var yb = b.call(x);
        Assert.False(ya.allclose(yb));
    }

    [Fact]
    public void DepthwiseConvsPerBlockEqualTheExpansionRate()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var sampler = new ArchitectureSampler(p, 7);
        foreach (var arch in Enumerable.Range(0, 5).Select(_ => sampler.Sample()).Append(ArchitectureCodec.Parse(FashionArch, p)))
        {
            using var net = new ChildNetwork(p, arch);
            var geo = p.Geometry();
            for (int i = 0; i < p.LayerCount; i++)
            {
                var (convs, bn) = net.Blocks[i].Depthwise;
                var choice = net.Architecture.Layers[i];
                Assert.Equal(choice.Expansion, convs.Count);
                Assert.Equal(geo[i].InChannels * choice.Expansion, bn.weight!.shape[0]);
                for (int j = 0; j < convs.Count; j++)
                {
                    // one channel group each: depthwise over c_in channels with the chosen kernel
                    Assert.Equal(new long[] { geo[i].InChannels, 1, choice.Kernels[j], choice.Kernels[j] }, convs[j].weight!.shape);
                }
            }
        }
    }
}
