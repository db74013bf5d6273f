using Sgnas.Cost;
using Sgnas.Generation;
using Sgnas.Modules;
using Sgnas.Search;
using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Modules;

/// <summary>
/// Issue 9 part 1: the relaxed forward (SGNAS Eq. 2) under a one-hot α is the discrete forward of the decoded
/// positional path, for every one-hot α the generator can produce (middle skips and unsorted kernels included).
/// </summary>
public class PositionalPathTests
{
    private static Supernet FrozenNet(SearchSpacePreset p, int seed)
    {
        torch.manual_seed(seed);
        var net = new Supernet(p);
        // Non-trivial BN statistics and affine parameters everywhere, so a wrong BN (e.g. the shadow BN of the wrong
        // rate, or another sub-block's depthwise BN) changes the logits.
        using (no_grad())
            foreach (var bn in net.modules().OfType<BatchNorm2d>())
            {
                bn.running_mean!.copy_(randn_like(bn.running_mean!) * 0.5);
                bn.running_var!.copy_(rand_like(bn.running_var!) + 0.5);
                bn.weight!.copy_(rand_like(bn.weight!) + 0.5);
                bn.bias!.copy_(randn_like(bn.bias!) * 0.3);
            }
        net.eval();
        return net;
    }

    /// <summary>Random options per sub-block, skip allowed where forced sampling allows it (so middle skips occur).</summary>
    private static int[] RandomOptions(SearchSpacePreset p, Random r, double skipProbability = 0.4)
    {
        var o = new int[p.LayerCount * p.MaxExpansion];
        for (int i = 0; i < p.LayerCount; i++)
            for (int j = 0; j < p.MaxExpansion; j++)
                o[i * p.MaxExpansion + j] = ForcedSampling.SkipAllowed(p, j) && r.NextDouble() < skipProbability
                    ? p.SkipIndex : r.Next(p.Kernels.Count);
        return o;
    }

    [Fact]
    public void RelaxedForwardOfOneHotAlphaEqualsDiscreteForwardOfDecodedPath()
    {
        var p = SupernetTests.Tiny();
        using var net = FrozenNet(p, 3);
        using var x = randn(4, 1, 8, 8);
        var r = new Random(7);
        int middle = 0, unsorted = 0;
        for (int n = 0; n < 40; n++)
        {
            var path = SupernetPath.FromOptions(p, RandomOptions(p, r));
            if (path.MiddleSkipCount > 0) middle++;
            if (!path.IsPrefix || !path.ToPrefixArchitecture().Equals(path.ToPrefixArchitecture().Canonical())) unsorted++;
            // The generator's α: random logits whose argmax is the path (decoding must give the path back).
            var alpha = path.ToOneHot().Select(v => v * 3f + (float)r.NextDouble()).ToArray();
            var decoded = AlphaDecoding.DecodePath(p, alpha);
            Assert.Equal(path, decoded);
            Assert.Equal(AlphaDecoding.Decode(p, alpha), decoded.ToArchitecture());

            using var m = tensor(decoded.ToOneHot(), new long[] { p.LayerCount, p.MaxExpansion, p.OptionCount });
            using var relaxed = net.ForwardRelaxed(x, m);
            using var discrete = net.ForwardPath(x, decoded);
            double diff = (relaxed - discrete).abs().max().item<float>();
            Assert.True(diff <= 1e-5, $"path {decoded}: max |relaxed − discrete| = {diff:G3}");
        }
        Assert.True(middle >= 10, $"only {middle} paths with a middle skip were drawn");
        Assert.True(unsorted >= 10, $"only {unsorted} paths with unsorted kernels were drawn");
    }

    [Fact]
    public void PrefixPathIsTheTrainedSinglePathWithKernelsInPositionOrder()
    {
        var p = SupernetTests.Tiny();
        using var net = FrozenNet(p, 4);
        using var x = randn(3, 1, 8, 8);
        var a = new Architecture(new[] { new LayerChoice(new[] { 7, 3, 5 }), new LayerChoice(new[] { 5, 3 }) });
        Assert.False(a.Layers[0].IsCanonical);
        var path = SupernetPath.FromArchitecture(p, a);
        Assert.True(path.IsPrefix);
        Assert.Equal(a, path.ToPrefixArchitecture());
        using var y1 = net.Forward(x, a);
        using var y2 = net.ForwardPath(x, path);
        Assert.True(y1.allclose(y2, rtol: 0, atol: 1e-6));
        // The canonical order is a different supernet path: the kernels sit in other sub-blocks' weights.
        using var y3 = net.Forward(x, a.Canonical());
        double d = (y1 - y3).abs().max().item<float>();
        Assert.True(d > 1e-4, $"canonical order gave the same logits (max diff {d:G3})");
    }

    [Fact]
    public void MiddleSkipPathIsNotItsCompactedPrefix()
    {
        var p = SupernetTests.Tiny();
        using var net = FrozenNet(p, 5);
        using var x = randn(3, 1, 8, 8);
        var path = SupernetPath.Parse("3,5,-,7,-,-|5,3,3,-,-,3", p);
        Assert.Equal(3, path.MiddleSkipCount);
        var compact = path.Compacted();
        Assert.True(compact.IsPrefix);
        Assert.Equal("3,5,7,-,-,-|5,3,3,3,-,-", compact.ToString());
        Assert.Equal(path.ToArchitecture(), compact.ToArchitecture());
        using var y1 = net.ForwardPath(x, path);
        using var y2 = net.ForwardPath(x, compact);
        double d = (y1 - y2).abs().max().item<float>();
        Assert.True(d > 1e-4, $"the compacted path gave the same logits (max diff {d:G3})");
    }

    [Fact]
    public void HardLimitPathDerivesTheRepairedArchitecture()
    {
        var p = SupernetTests.Tiny();
        var table = new FlopsLookupTable(p);
        var r = new Random(11);
        var (min, max) = table.Range();
        for (int n = 0; n < 20; n++)
        {
            var alpha = Enumerable.Range(0, p.LayerCount * p.MaxExpansion * p.OptionCount).Select(_ => (float)r.NextDouble()).ToArray();
            double target = min + r.NextDouble() * (max - min);
            var (arch, repaired) = HardLimit.Apply(p, table, alpha, target);
            var (path, repaired2) = HardLimit.ApplyPath(p, table, alpha, target);
            Assert.Equal(repaired, repaired2);
            Assert.Equal(arch, path.ToArchitecture());
            Assert.True(table.CostM(arch) <= target + 1e-9);
        }
    }

    [Fact]
    public void PathTextRoundTripsAndRejectsForbiddenSkips()
    {
        var p = SupernetTests.Tiny();
        var path = SupernetPath.Parse("7,3,-,5,-,-|3,3,3,3,3,3", p);
        Assert.Equal("7,3,-,5,-,-|3,3,3,3,3,3", path.ToString());
        Assert.Equal(SupernetPath.Parse(path.ToString(), p), path);
        Assert.Equal("e3:3,5,7|e6:3,3,3,3,3,3", path.ToArchitecture().ToString());
        Assert.Throws<FormatException>(() => SupernetPath.Parse("-,3,3,3,-,-|3,3,3,3,3,3", p));
        Assert.Throws<FormatException>(() => SupernetPath.Parse("3,3,3,3|3,3,3,3,3,3", p));
    }
}
