using System.Text.Json;

namespace Sgnas.Cli.Tests;

public class InfoAndFlopsTests
{
    [Fact]
    public void InfoJsonHasTheDocumentedFieldsAndOnlyJsonOnStdout()
    {
        var (exit, stdout, _) = CliRunner.Run("info", "--preset", "imagenet", "--json");
        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal(19, r.GetProperty("layers").GetInt32());
        Assert.Equal(80, r.GetProperty("choicesPerLayer").GetInt32());
        Assert.Equal(19 * Math.Log10(80), r.GetProperty("searchSpaceLog10").GetDouble(), 6);
        long unified = r.GetProperty("supernetParams").GetInt64();
        var conv = r.GetProperty("conventionalSupernetParams");
        Assert.True(conv.GetProperty("candidates6").GetInt64() > unified);
        Assert.True(conv.GetProperty("candidates13").GetInt64() > conv.GetProperty("candidates6").GetInt64());
        Assert.True(r.GetProperty("minFlopsM").GetDouble() < r.GetProperty("maxFlopsM").GetDouble());
    }

    [Fact]
    public void FlopsInAFreshProcessRunsTheNetworkAndAgreesWithTheLookupTable()
    {
        // MobileNetV2 in the mobilenetv2 preset: about 300 M MACs, 3.5 M parameters.
        string arch = string.Join("|", Enumerable.Repeat("e6:3,3,3,3,3,3", 16));
        var (exit, stdout, stderr) = CliRunner.Run("flops", "--preset", "mobilenetv2", "--arch", arch, "--json");
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        double flops = doc.RootElement.GetProperty("flopsM").GetDouble();
        Assert.InRange(flops, 295, 305);
        Assert.Equal(3.504872, doc.RootElement.GetProperty("paramsM").GetDouble(), 6);
        Assert.Equal(flops, doc.RootElement.GetProperty("lookupTableFlopsM").GetDouble(), 6);
    }

    [Fact]
    public void BadArchitectureFailsWithOneLineNamingTheLayer()
    {
        var (exit, stdout, stderr) = CliRunner.Run("flops", "--arch", "e2:3,3|e2:3,3|e2:3,4|e2:3,3|e2:3,3|e2:3,3", "--json");
        Assert.Equal(1, exit);
        Assert.Equal("", stdout);
        var lines = stderr.Trim().Split('\n');
        Assert.Single(lines);
        Assert.Contains("Layer 2", lines[0]);
    }

    [Fact]
    public void UnknownCommandAndOptionAreUsageErrors()
    {
        Assert.Equal(2, CliRunner.Run("no-such-command").Exit);
        var (exit, _, stderr) = CliRunner.Run("info", "--bogus", "1");
        Assert.Equal(2, exit);
        Assert.Contains("--bogus", stderr);
    }
}
