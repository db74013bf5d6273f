using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using SkiaSharp;
using Sgnas.IO;
using Sgnas.Search;

namespace Sgnas.MLNet.Reports;

/// <summary>
/// Writes a <see cref="ComparisonResult"/> as the SGNAS paper presents it: <c>results.csv</c> and <c>results.json</c>
/// (Table 1: per strategy and constraint the architecture, exact FLOPs, validation top-1 and search time, plus the
/// total for N constraints), <c>fig6a_accuracy_vs_flops.png</c> (random architectures as dots, each strategy's
/// picks marked) and <c>fig7a_target_vs_generated.png</c> (target vs obtained FLOPs with y = x). Every file is
/// written atomically.
/// </summary>
public static class ComparisonReport
{
    /// <summary>File name of the per-search table.</summary>
    public const string CsvFile = "results.csv";
    /// <summary>File name of the full JSON report.</summary>
    public const string JsonFile = "results.json";
    /// <summary>File name of the accuracy-vs-FLOPs plot (paper Fig. 6a).</summary>
    public const string Fig6aFile = "fig6a_accuracy_vs_flops.png";
    /// <summary>File name of the target-vs-obtained FLOPs plot (paper Fig. 7a).</summary>
    public const string Fig7aFile = "fig7a_target_vs_generated.png";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Writes all four files into <paramref name="outDir"/> (created if needed); returns their paths.</summary>
    public static IReadOnlyList<string> Write(ComparisonResult result, string outDir)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentException.ThrowIfNullOrWhiteSpace(outDir);
        Directory.CreateDirectory(outDir);
        var paths = new[] { CsvFile, JsonFile, Fig6aFile, Fig7aFile }.Select(f => Path.Combine(outDir, f)).ToArray();
        AtomicFile.WriteAllText(paths[0], ToCsv(result));
        AtomicFile.WriteAllText(paths[1], ToJson(result).ToJsonString(Indented));
        AtomicFile.WriteAllBytes(paths[2], Fig6a(result));
        AtomicFile.WriteAllBytes(paths[3], Fig7a(result));
        return paths;
    }

    /// <summary>
    /// One row per (strategy, target): strategy, targetFlopsM, flopsM, withinTarget, valTop1, valLoss, seconds, evaluated,
    /// architecture; when any search was for a latency budget or any pick was measured (docs/latency.md), three more
    /// columns: kind, cost (in the budget's unit, as the search judged it) and measuredMs (empty when not measured).
    /// For a latency budget targetFlopsM holds the budget in ms.
    /// </summary>
    public static string ToCsv(ComparisonResult result)
    {
        bool latency = HasLatency(result);
        var sb = new StringBuilder("strategy,targetFlopsM,flopsM,withinTarget,valTop1,valLoss,seconds,evaluated,architecture" + (latency ? ",kind,cost,measuredMs" : "") + "\n");
        foreach (var r in result.Results)
        {
            sb.Append(string.Join(",", Quote(r.Strategy), F(r.TargetFlopsM), F(r.FlopsM), r.WithinTarget ? "true" : "false",
                F(r.ValTop1), F(r.ValLoss), F(r.Seconds), r.Evaluated.ToString(CultureInfo.InvariantCulture), Quote(r.Architecture.ToString())));
            if (latency)
                sb.Append(',').Append(Cost.ConstraintKinds.Name(r.Kind)).Append(',').Append(r.Cost is { } c ? F(c) : "")
                  .Append(',').Append(r.MeasuredMs is { } m ? F(m) : "");
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static bool HasLatency(ComparisonResult result) =>
        result.Results.Any(r => r.Kind != Cost.ConstraintKind.Flops || r.MeasuredMs is not null);

    /// <summary>The whole comparison as JSON (camelCase): protocol, results, totals and the random sample.</summary>
    public static JsonObject ToJson(ComparisonResult result)
    {
        var results = new JsonArray();
        foreach (var r in result.Results)
        {
            var row = new JsonObject
            {
                ["strategy"] = r.Strategy, ["targetFlopsM"] = r.TargetFlopsM, ["flopsM"] = r.FlopsM, ["withinTarget"] = r.WithinTarget,
                ["architecture"] = r.Architecture.ToString(), ["valTop1"] = r.ValTop1, ["valLoss"] = r.ValLoss,
                ["seconds"] = r.Seconds, ["evaluated"] = r.Evaluated,
            };
            // Latency budgets and measured latency (docs/latency.md): the kind, the cost as judged, ORT's measurement.
            if (r.Kind != Cost.ConstraintKind.Flops) { row["kind"] = Cost.ConstraintKinds.Name(r.Kind); row["cost"] = r.Cost; }
            if (r.MeasuredMs is { } ms) row["measuredMs"] = ms;
            results.Add(row);
        }
        var totals = new JsonArray();
        foreach (var t in result.Totals)
            totals.Add(new JsonObject
            {
                ["strategy"] = t.Strategy, ["constraints"] = t.Constraints, ["searchSeconds"] = t.SearchSeconds,
                ["setupSeconds"] = t.SetupSeconds, ["totalSeconds"] = t.TotalSeconds,
            });
        var points = new JsonArray();
        foreach (var p in result.RandomPoints)
            points.Add(new JsonObject { ["architecture"] = p.Architecture.ToString(), ["flopsM"] = p.FlopsM, ["valTop1"] = p.ValTop1 });
        var targets = new JsonArray();
        foreach (var t in result.Targets) targets.Add(t);
        return new JsonObject
        {
            ["preset"] = result.Preset,
            ["targetsFlopsM"] = targets,
            ["protocol"] = new JsonObject
            {
                ["bnRecalibrationImages"] = result.RecalibrationImages,
                ["validationImages"] = result.ValidationImages,
            },
            ["results"] = results,
            ["totals"] = totals,
            ["randomPoints"] = points,
        };
    }

    /// <summary>PNG of Fig. 6a: validation top-1 against FLOPs of the random sample (dots) and of each strategy's picks.</summary>
    public static byte[] Fig6a(ComparisonResult result, int width = 900, int height = 600)
    {
        var chart = new PngChart
        {
            Title = $"Validation top-1 vs FLOPs ({result.Preset}, inherited weights + BN recalibration)",
            XLabel = "FLOPs (M)",
            YLabel = "validation top-1 (%)",
        };
        if (result.RandomPoints.Count > 0)
            chart.Add(new ChartSeries($"random architectures ({result.RandomPoints.Count})",
                result.RandomPoints.Select(p => p.FlopsM).ToArray(), result.RandomPoints.Select(p => 100 * p.ValTop1).ToArray(),
                new SKColor(70, 130, 180, 150), ChartMarker.Circle, 5));
        int i = 0;
        foreach (var g in result.Results.GroupBy(r => r.Strategy))
        {
            chart.Add(new ChartSeries(g.Key, g.Select(r => r.FlopsM).ToArray(), g.Select(r => 100 * r.ValTop1).ToArray(),
                Palette[i % Palette.Length], Shapes[i % Shapes.Length], 12));
            i++;
        }
        return chart.ToPng(width, height);
    }

    /// <summary>PNG of Fig. 7a: FLOPs of each strategy's architecture against its target, with the line y = x.</summary>
    public static byte[] Fig7a(ComparisonResult result, int width = 700, int height = 600)
    {
        var all = result.Results.SelectMany(r => new[] { r.TargetFlopsM, r.FlopsM }).DefaultIfEmpty(0).ToArray();
        double lo = all.Min(), hi = all.Max();
        var chart = new PngChart
        {
            Title = $"Target vs obtained FLOPs ({result.Preset})",
            XLabel = "target FLOPs (M)",
            YLabel = "FLOPs of the chosen architecture (M)",
        };
        chart.Add(new ChartSeries("y = x", new[] { lo, hi }, new[] { lo, hi }, SKColors.Gray, ChartMarker.None, 0, Connect: true, Dashed: true));
        int i = 0;
        foreach (var g in result.Results.GroupBy(r => r.Strategy))
        {
            var ordered = g.OrderBy(r => r.TargetFlopsM).ToArray();
            chart.Add(new ChartSeries(g.Key, ordered.Select(r => r.TargetFlopsM).ToArray(), ordered.Select(r => r.FlopsM).ToArray(),
                Palette[i % Palette.Length], Shapes[i % Shapes.Length], 10, Connect: true));
            i++;
        }
        return chart.ToPng(width, height);
    }

    private static readonly ChartMarker[] Shapes = { ChartMarker.Square, ChartMarker.Triangle, ChartMarker.Diamond, ChartMarker.Circle };
    private static readonly SKColor[] Palette = { new(220, 20, 20), new(0, 120, 0), new(255, 140, 0), new(128, 0, 128) };

    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static string Quote(string s) => s.IndexOfAny(new[] { ',', '"', '\n' }) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>A fixed-width text table of the results and totals, for the console.</summary>
    public static string ToTable(ComparisonResult result)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"strategy",-10} {"target M",9} {"FLOPs M",9} {"top-1 %",8} {"seconds",9} {"evals",6}  architecture");
        bool latency = HasLatency(result);
        foreach (var r in result.Results)
        {
            string extra = !latency ? "" : string.Create(CultureInfo.InvariantCulture,
                $"  [{Cost.ConstraintKinds.Name(r.Kind)}{(r.Kind == Cost.ConstraintKind.Latency && r.Cost is { } c ? $" {c:F4} ms judged" : "")}{(r.MeasuredMs is { } m ? $", ORT {m:F4} ms" : "")}]");
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{r.Strategy,-10} {r.TargetFlopsM,9:F3} {r.FlopsM,9:F3}{(r.WithinTarget ? " " : "!")} {100 * r.ValTop1,7:F2} {r.Seconds,9:F1} {r.Evaluated,6}  {r.Architecture}{extra}");
        }
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"strategy",-10} {"N",3} {"search s",10} {"setup s",10} {"total s",10}");
        foreach (var t in result.Totals)
            sb.AppendLine(CultureInfo.InvariantCulture, $"{t.Strategy,-10} {t.Constraints,3} {t.SearchSeconds,10:F1} {t.SetupSeconds,10:F1} {t.TotalSeconds,10:F1}");
        if (result.RandomPoints.Count > 0)
        {
            var best = result.RandomPoints.MaxBy(p => p.ValTop1)!;
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"\nrandom sample: {result.RandomPoints.Count} architectures, top-1 {100 * result.RandomPoints.Min(p => p.ValTop1):F2}..{100 * best.ValTop1:F2} %");
        }
        return sb.ToString();
    }
}
