using Sgnas.SearchSpace;

namespace Sgnas.Core.Tests.SearchSpace;

public class SearchSpaceTests
{
    public static IEnumerable<object[]> Presets() => SearchSpacePreset.BuiltInNames.Select(n => new object[] { n });

    [Theory, MemberData(nameof(Presets))]
    public void BuiltInPresetsLoadAndRoundTripThroughJson(string name)
    {
        var p = SearchSpacePreset.Load(name);
        Assert.Equal(name, p.Name);
        var again = SearchSpacePreset.FromJson(p.ToJson());
        Assert.Equal(p.Layers, again.Layers);
        Assert.Equal(p.HeadChannels, again.HeadChannels);
    }

    [Fact]
    public void PaperSpaceHas80ChoicesPerLayerEnumerated()
    {
        var p = SearchSpacePreset.Load("imagenet");
        var all = ForcedSampling.EnumerateLayerChoices(p).ToList();
        Assert.Equal(80, all.Count);
        Assert.Equal(80, all.Distinct().Count());
        Assert.All(all, c => Assert.True(c.IsCanonical));
        // per rate: C(e+2,2) = 6, 10, 15, 21, 28
        Assert.Equal(new[] { 6, 10, 15, 21, 28 }, all.GroupBy(c => c.Expansion).OrderBy(g => g.Key).Select(g => g.Count()));
        Assert.Equal(80, ForcedSampling.ChoicesPerLayer(p));
    }

    [Fact]
    public void ImagenetSpaceIs80ToThe19()
    {
        var p = SearchSpacePreset.Load("imagenet");
        Assert.Equal(19, p.LayerCount);
        Assert.Equal(19 * Math.Log10(80), ForcedSampling.SearchSpaceLog10(p), 9);
    }

    [Fact]
    public void CifarDiffersFromImagenetOnlyInStridesAndInput()
    {
        var i = SearchSpacePreset.Load("imagenet");
        var c = SearchSpacePreset.Load("cifar");
        Assert.Equal(1, c.StemStride);
        Assert.Equal(1, c.Layers[0].Stride);
        Assert.Equal(32, c.InputSize);
        Assert.Equal(i.Layers.Select(l => l.OutChannels), c.Layers.Select(l => l.OutChannels));
        Assert.Equal(i.Layers.Skip(1), c.Layers.Skip(1));
    }

    [Fact]
    public void TextFormRoundTripsAndIsCanonical()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var a = ArchitectureCodec.Parse("e4:7,3,5,3|e2:7,7|e6:3,3,3,3,3,3|e3:5,5,5|e5:7,5,3,3,3|e2:3,5", p);
        Assert.Equal("e4:3,3,5,7|e2:7,7|e6:3,3,3,3,3,3|e3:5,5,5|e5:3,3,3,5,7|e2:3,5", a.ToString());
        Assert.Equal(a, ArchitectureCodec.Parse(a.ToString(), p));
        Assert.Equal(a, ArchitectureCodec.FromJson(ArchitectureCodec.ToJson(a), p));
    }

    [Fact]
    public void TrailingSkipsAndTheReadmeJsonFormAreAccepted()
    {
        // Issue 13 case 8: trailing skips (the inactive sub-blocks of forced sampling) were refused as "skip inside the
        // active prefix", and --arch rejected the README's JSON form.
        var p = SearchSpacePreset.Load("fashion-small");
        var a = ArchitectureCodec.Parse("e2:3,3,skip,skip|e2:3,3|e2:5,3,skip|e2:3,3|e2:3,3|e2:3,3", p);
        Assert.Equal("e2:3,3|e2:3,3|e2:3,5|e2:3,3|e2:3,3|e2:3,3", a.ToString());
        var j = ArchitectureCodec.Parse("""{"layers":[[3,3,5,7],[7,7],[3,3,3,3,3,3],[5,5,5],[3,3,3,5,7],[3,5]]}""", p);
        Assert.Equal("e4:3,3,5,7|e2:7,7|e6:3,3,3,3,3,3|e3:5,5,5|e5:3,3,3,5,7|e2:3,5", j.ToString());
    }

    [Theory]
    [InlineData("e7:3,3,3,3,3,3,3|e2:3,3|e2:3,3|e2:3,3|e2:3,3|e2:3,3", "Layer 0", "outside 2..6")]
    [InlineData("e2:3,3|e1:3|e2:3,3|e2:3,3|e2:3,3|e2:3,3", "Layer 1", "outside 2..6")]
    [InlineData("e2:3,3|e2:3,3|e2:3,9|e2:3,3|e2:3,3|e2:3,3", "Layer 2", "unknown kernel 9")]
    [InlineData("e2:3,3|e2:3,3|e2:3,3|e3:3,skip,3|e2:3,3|e2:3,3", "Layer 3", "skip inside")]
    [InlineData("e2:3,3|e2:3,3|e2:3,3|e2:3,3|e3:3,3|e2:3,3", "Layer 4", "needs 3 kernels")]
    [InlineData("e2:3,3|e2:3,3", "2 layers", "has 6")]
    [InlineData("e2:3,3|e2:3,3|e2:3,3|e2:3,3|e2:3,3|x2:3,3", "Layer 5", "not of the form")]
    // Issue 13 case 8: a negative rate was reported as "needs -4 kernels".
    [InlineData("e2:3,3|e-4:3,3|e2:3,3|e2:3,3|e2:3,3|e2:3,3", "Layer 1", "expansion rate '-4' is not a whole number ≥ 1")]
    [InlineData("e2:3,3|e0:|e2:3,3|e2:3,3|e2:3,3|e2:3,3", "Layer 1", "must be at least 1")]
    [InlineData("""{"layers":[[3,3],[3,"x"]]}""", "Layer 1", "not a kernel size")]
    [InlineData("""{"layers":[[3,3],5]}""", "Layer 1", "not an array of kernel sizes")]
    [InlineData("""{"layer":[]}""", "Architecture JSON", "expected {\"layers\"")]
    public void InvalidArchitecturesNameTheLayer(string text, string where, string what)
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var e = Assert.Throws<FormatException>(() => ArchitectureCodec.Parse(text, p));
        Assert.Contains(where, e.Message);
        Assert.Contains(what, e.Message);
    }

    [Fact]
    public void OneHotRoundTripFollowsForcedSampling()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var s = new ArchitectureSampler(p, 7);
        for (int n = 0; n < 50; n++)
        {
            var a = s.Sample();
            var oh = a.ToOneHot(p);
            Assert.Equal(p.LayerCount * 6, oh.Sum(v => (int)v));
            // skip only after the active prefix
            for (int i = 0; i < p.LayerCount; i++)
                for (int j = 0; j < 6; j++)
                    Assert.Equal(j >= a.Layers[i].Expansion ? 1f : 0f, oh[(i * 6 + j) * 4 + 3]);
            Assert.Equal(a, Architecture.FromAlpha(p, oh));
        }
    }

    [Fact]
    public void FromAlphaCutsAtFirstSkipAndNeverSkipsTheFirstTwo()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var alpha = new float[p.LayerCount * 6 * 4];
        void Set(int layer, int sub, int opt) => alpha[(layer * 6 + sub) * 4 + opt] = 1f;
        for (int i = 0; i < p.LayerCount; i++)
            for (int j = 0; j < 6; j++) Set(i, j, 2); // all k7
        // layer 0: skip at sub-block 0 is not allowed -> k7 kept; skip at 3 ends the prefix even if 4,5 are kernels
        alpha[(0 * 6 + 0) * 4 + 3] = 5f;
        alpha[(0 * 6 + 3) * 4 + 3] = 5f;
        var a = Architecture.FromAlpha(p, alpha);
        Assert.Equal("e3:7,7,7", a.Layers[0].ToString());
        Assert.Equal("e6:7,7,7,7,7,7", a.Layers[1].ToString());
    }

    [Fact]
    public void UserPresetErrorsNameTheField()
    {
        var json = SearchSpacePreset.Load("fashion-small").ToJson().Replace("\"stemStride\": 1", "\"stemStride\": 3");
        var e = Assert.Throws<FormatException>(() => SearchSpacePreset.FromJson(json, "mine.json"));
        Assert.Contains("mine.json", e.Message);
        Assert.Contains("stemStride", e.Message);
        Assert.Throws<ArgumentException>(() => SearchSpacePreset.Load("no-such-preset"));
    }
}
