using System.Text.Json.Nodes;
using Sgnas.Search;
using Sgnas.SearchSpace;

namespace Sgnas.Core.Tests.Search;

public class ArchitectureSearchSpaceTests
{
    [Theory]
    [InlineData("tiny")]
    [InlineData("fashion-small")]
    [InlineData("imagenet")]
    public void ArchitectureRoundTripsThroughParametersAndUnitVector(string presetName)
    {
        var preset = presetName == "tiny" ? SearchFixtures.Tiny() : SearchSpacePreset.Load(presetName);
        var space = new ArchitectureSearchSpace(preset);
        var sampler = new ArchitectureSampler(preset, 11);
        for (int n = 0; n < 50; n++)
        {
            var raw = sampler.Sample(canonical: false);
            var canonical = raw.Canonical();
            Assert.Equal(canonical, space.FromParameters(space.ToParameters(raw)));
            var u = space.ToUnitVector(raw);
            Assert.All(u, x => Assert.InRange(x, 0.0, 1.0));
            Assert.Equal(canonical, space.FromUnitVector(u));
            Assert.Equal(u, space.ToUnitVector(space.FromUnitVector(u)));
        }
        foreach (var a in new[] { Architecture.Smallest(preset), Architecture.Largest(preset) })
            Assert.Equal(a, space.FromUnitVector(space.ToUnitVector(a)));
    }

    [Fact]
    public void KeysAreNamedPerLayerAndSortedOrdinally()
    {
        var preset = SearchSpacePreset.Load("imagenet");
        var space = new ArchitectureSearchSpace(preset);
        Assert.Equal(preset.LayerCount * (1 + preset.MaxExpansion), space.FeatureSpaceDimension);
        Assert.Equal(space.Keys.OrderBy(k => k, StringComparer.Ordinal), space.Keys);
        Assert.Contains("layer0.expansion", space.Keys);
        Assert.Contains("layer18.kernel5", space.Keys);
        Assert.Equal(new[] { 2, 3, 4, 5, 6 }, space.Choices("layer3.expansion"));
        Assert.Equal(new[] { 3, 5, 7 }, space.Choices("layer3.kernel0"));
        // ordinal order: layer10 before layer2
        Assert.True(space.Keys.ToList().IndexOf("layer10.expansion") < space.Keys.ToList().IndexOf("layer2.expansion"));
    }

    [Fact]
    public void UnitCubeCellsMapToChoicesAndEdgesClamp()
    {
        var space = new ArchitectureSearchSpace(SearchFixtures.Tiny());
        var u = Enumerable.Repeat(0.0, space.FeatureSpaceDimension).ToArray();
        Assert.Equal(Architecture.Smallest(space.Preset), space.FromUnitVector(u));
        Array.Fill(u, 1.0);
        Assert.Equal(Architecture.Largest(space.Preset), space.FromUnitVector(u));
        Array.Fill(u, 0.45); // expansion cell 2 of 5 → e = 4; kernel cell 1 of 3 → k = 5
        Assert.Equal(Architecture.Uniform(2, 4, 5), space.FromUnitVector(u));
        Array.Fill(u, 7.0);
        Assert.Equal(Architecture.Largest(space.Preset), space.FromUnitVector(u));
    }

    [Fact]
    public void BadParametersNameTheParameter()
    {
        var space = new ArchitectureSearchSpace(SearchFixtures.Tiny());
        var p = space.ToParameters(Architecture.Smallest(space.Preset));
        p["layer1.expansion"] = 9;
        Assert.Contains("layer1.expansion", Assert.Throws<ArgumentException>(() => space.FromParameters(p)).Message);
        p = space.ToParameters(Architecture.Smallest(space.Preset));
        p.Remove("layer0.kernel1");
        Assert.Contains("layer0.kernel1", Assert.Throws<ArgumentException>(() => space.FromParameters(p)).Message);
        p = space.ToParameters(Architecture.Smallest(space.Preset));
        p["layer7.expansion"] = 3;
        Assert.Contains("layer7.expansion", Assert.Throws<ArgumentException>(() => space.FromParameters(p)).Message);
        Assert.Throws<ArgumentException>(() => space.FromUnitVector(new double[3]));
    }

    [Fact]
    public void JsonDescribesEveryParameter()
    {
        var space = new ArchitectureSearchSpace(SearchFixtures.Tiny());
        var json = JsonNode.Parse(space.ToJson())!;
        Assert.Equal(space.FeatureSpaceDimension, (int)json["featureSpaceDimension"]!);
        var parameters = json["parameters"]!.AsObject();
        Assert.Equal(space.Keys, parameters.Select(kv => kv.Key));
        Assert.Equal(new[] { 2, 3, 4, 5, 6 }, parameters["layer1.expansion"]!["choices"]!.AsArray().Select(v => (int)v!));
        Assert.Equal("choice", (string)parameters["layer0.kernel5"]!["type"]!);
    }
}
