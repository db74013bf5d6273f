namespace Sgnas.Cli.Tests;

/// <summary>
/// Issue 9 part 5 in CI: the tiny experiment writes its report and figures, and an interrupted run continues rather
/// than restarting (finished stages and scored candidates are reused).
/// </summary>
public sealed class ExperimentCommandTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sgnas-exp-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void TinyExperimentWritesTheReportAndResumesAfterAnInterruption()
    {
        // Interrupted after the generator, then after the searches (three processes: each stays well inside the
        // runner's per-process time limit on a busy machine).
        var first = CliRunner.Run("experiment", "--scale", "tiny", "--out", _dir, "--threads", "1", "--stop-after", "generator");
        Assert.True(first.Exit == 0, first.Stderr);
        string supernet = Path.Combine(_dir, "run", "supernet.pt"), generator = Path.Combine(_dir, "run", "generator.pt");
        var stamps = new[] { supernet, generator }.Select(File.GetLastWriteTimeUtc).ToArray();
        Assert.False(Directory.Exists(Path.Combine(_dir, "search")));
        var middle = CliRunner.Run("experiment", "--scale", "tiny", "--out", _dir, "--threads", "1", "--stop-after", "search");
        Assert.True(middle.Exit == 0, middle.Stderr);
        Assert.Equal(stamps, new[] { supernet, generator }.Select(File.GetLastWriteTimeUtc).ToArray());
        Assert.False(File.Exists(Path.Combine(_dir, "results.md")));
        var journals = Directory.GetFiles(Path.Combine(_dir, "search"), "*.jsonl").ToDictionary(f => f, File.ReadAllText);
        var picks = Directory.GetFiles(Path.Combine(_dir, "search"), "*.json").ToDictionary(f => f, File.ReadAllText);
        Assert.Equal(9, picks.Count); // 3 strategies × 3 budgets
        Assert.NotEmpty(journals);

        // Continued: nothing finished is redone, and the report is complete.
        var second = CliRunner.Run("experiment", "--scale", "tiny", "--out", _dir, "--threads", "1");
        Assert.True(second.Exit == 0, second.Stderr);
        Assert.Equal(stamps, new[] { supernet, generator }.Select(File.GetLastWriteTimeUtc).ToArray());
        foreach (var (f, text) in journals) Assert.Equal(text, File.ReadAllText(f));
        foreach (var (f, text) in picks) Assert.Equal(text, File.ReadAllText(f));
        Assert.Contains("reusing generator.json", second.Stdout + second.Stderr);

        string md = File.ReadAllText(Path.Combine(_dir, "results.md"));
        foreach (var section in new[] { "## Targets", "## Picks", "## FLOPs tracking", "## Search cost (Table 1)", "## Supernet ranking", "held-out" })
            Assert.Contains(section, md);
        Assert.Matches(@"\*\*(met|missed)\*\*", md);
        // Tracking is reported as delivered (calibrated input) and for G's raw response at the budget itself.
        Assert.Contains("calibrated input", md);
        Assert.Contains("raw response", md);
        foreach (var png in new[] { "fig6a_accuracy_vs_flops.png", "fig7a_target_vs_generated.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(_dir, png));
            Assert.True(bytes.Length > 1000 && bytes[0] == 0x89 && bytes[1] == (byte)'P', $"{png} is not a PNG");
        }
        Assert.True(File.Exists(Path.Combine(_dir, "results.json")));

        // Percentile neighbours: every generator pick has at least PercentileNeighbours (tiny: 2) random architectures
        // within ±5 % of its FLOPs, and every extra one was drawn inside some pick's window.
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "results.json")));
        var root = json.RootElement;
        double[] Flops(string name) => root.GetProperty(name).EnumerateArray().Select(p => p.GetProperty("flopsM").GetDouble()).ToArray();
        var uniform = Flops("randomPoints");
        var extra = Flops("neighbourPoints");
        var genFlops = root.GetProperty("picks").EnumerateArray().Where(p => p.GetProperty("strategy").GetString() == "generator")
            .Select(p => p.GetProperty("flopsM").GetDouble()).ToArray();
        Assert.Equal(3, genFlops.Length);
        foreach (var f in genFlops) Assert.True(uniform.Concat(extra).Count(x => Math.Abs(x - f) <= 0.05 * f) >= 2, $"fewer than 2 neighbours of {f} M");
        Assert.All(extra, x => Assert.Contains(genFlops, f => Math.Abs(x - f) <= 0.05 * f));
    }

    [Fact]
    public void RecipeMarginAndPriorReachTheStagesThatTrain()
    {
        var r = CliRunner.Run("experiment", "--scale", "tiny", "--out", _dir, "--threads", "1", "--supernet-recipe", "reference",
            "--supernet-paths", "5", "--constraint-margin", "0.05", "--prior", "single", "--stop-after", "supernet");
        Assert.True(r.Exit == 0, r.Stderr);
        using var options = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(_dir, "options.json")));
        var s = options.RootElement.GetProperty("supernet");
        Assert.Equal(5, s.GetProperty("pathsPerStep").GetInt32()); // --supernet-paths over the recipe's 4
        Assert.Equal(0.064, s.GetProperty("learningRate").GetDouble());
        Assert.Equal(0.1, s.GetProperty("labelSmoothing").GetDouble());
        Assert.Equal("Reference", s.GetProperty("init").GetString());
        Assert.Equal(1, s.GetProperty("validationArchitectures").GetInt32()); // the tiny scale's size is kept
        var g = options.RootElement.GetProperty("generator");
        Assert.Equal(0.05, g.GetProperty("constraintMarginM").GetDouble());
        Assert.Equal("SingleRandom", g.GetProperty("prior").GetString());
        // The supernet that was trained carries the recipe in its checkpoint.
        string meta = File.ReadAllText(Path.Combine(_dir, "run", "supernet.json"));
        Assert.Matches(@"""pathsPerStep"":\s*5", meta);
        Assert.Matches(@"""weightDecay"":\s*(0\.0004|4E-0?4)", meta);
        var bad = CliRunner.Run("experiment", "--scale", "tiny", "--out", _dir, "--supernet-recipe", "papers");
        Assert.NotEqual(0, bad.Exit);
        Assert.Contains("--supernet-recipe", bad.Stderr);
    }
}
