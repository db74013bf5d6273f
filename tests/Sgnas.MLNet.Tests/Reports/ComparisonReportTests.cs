using System.Text.Json.Nodes;
using Sgnas.MLNet.Reports;
using Sgnas.Search;
using Sgnas.SearchSpace;

namespace Sgnas.MLNet.Tests.Reports;

public class ComparisonReportTests
{
    private static ComparisonResult Sample()
    {
        var small = Architecture.Uniform(2, 2, 3);
        var mid = Architecture.Uniform(2, 4, 5);
        var results = new List<SearchResult>
        {
            new("random", 2.0, small, 1.9, 0.71, 0.9, 12.5, 20, Array.Empty<Trial>()),
            new("random", 3.0, mid, 2.95, 0.74, 0.8, 13.0, 20, Array.Empty<Trial>()),
            new("generator", 2.0, mid, 2.1, 0.73, 0.85, 0.4, 1, Array.Empty<Trial>()),
            new("generator", 3.0, mid, 2.95, 0.74, 0.8, 0.4, 1, Array.Empty<Trial>()),
        };
        var totals = new[] { new StrategyTotal("random", 2, 25.5, 0), new StrategyTotal("generator", 2, 0.8, 60) };
        var points = Enumerable.Range(0, 30).Select(i => new RandomPoint(small, 1.5 + i * 0.05, 0.6 + i * 0.004)).ToArray();
        return new ComparisonResult("tiny", new[] { 2.0, 3.0 }, results, totals, points, 256, 500);
    }

    [Fact]
    public void WritesTableJsonAndBothPlots()
    {
        var dir = Path.Combine(Path.GetTempPath(), "sgnas-report-" + Guid.NewGuid().ToString("N"));
        try
        {
            var files = ComparisonReport.Write(Sample(), dir);
            Assert.Equal(4, files.Count);
            var csv = File.ReadAllLines(Path.Combine(dir, ComparisonReport.CsvFile));
            Assert.Equal(5, csv.Length);
            Assert.StartsWith("strategy,targetFlopsM,flopsM,withinTarget,valTop1", csv[0]);
            Assert.Equal("generator,2,2.1,false,0.73,0.85,0.4,1,\"e4:5,5,5,5|e4:5,5,5,5\"", csv[3]);

            var json = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, ComparisonReport.JsonFile)))!;
            Assert.Equal(4, json["results"]!.AsArray().Count);
            Assert.Equal(60.8, (double)json["totals"]![1]!["totalSeconds"]!, 9);
            Assert.Equal(30, json["randomPoints"]!.AsArray().Count);

            foreach (var png in new[] { ComparisonReport.Fig6aFile, ComparisonReport.Fig7aFile })
            {
                var bytes = File.ReadAllBytes(Path.Combine(dir, png));
                Assert.True(bytes.Length > 5000, $"{png} is only {bytes.Length} bytes");
                Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes.Take(4).ToArray());
            }
            Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories).Concat(Directory.GetFiles(dir, ".*")));
            Assert.Contains("generator", ComparisonReport.ToTable(Sample()));
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ChartTicksAreRoundAndCoverTheRange()
    {
        Assert.Equal(new[] { 0.0, 0.2, 0.4, 0.6, 0.8, 1.0 }, PngChart.Ticks(0.03, 0.97).Select(t => Math.Round(t, 9)));
        Assert.Equal(new[] { 1.0, 2, 3, 4, 5, 6 }, PngChart.Ticks(1.4, 5.2));
        Assert.Throws<ArgumentException>(() => new PngChart().Add(new ChartSeries("bad", new[] { 1.0 }, new[] { 1.0, 2.0 }, SkiaSharp.SKColors.Red)));
    }
}
