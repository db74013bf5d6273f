using System.Globalization;
using System.Text;
using System.Text.Json;
using Sgnas.Search;
using Sgnas.SearchSpace;

namespace Sgnas.MLNet.Reports;

/// <summary>Writes an <see cref="ExperimentResult"/> as <c>results.md</c>, <c>results.json</c> and the PNG figures.</summary>
public static class ExperimentReport
{
    /// <summary>The Markdown report.</summary>
    public const string MarkdownFile = "results.md";
    /// <summary>All numbers.</summary>
    public const string JsonFile = "results.json";
    /// <summary>Fig. 6a: accuracy vs FLOPs of the random sample and of every pick.</summary>
    public const string Fig6aFile = "fig6a_accuracy_vs_flops.png";
    /// <summary>Fig. 7a: target vs generated FLOPs on the tracking budgets.</summary>
    public const string Fig7aFile = "fig7a_target_vs_generated.png";

    // Targets of issue 9.
    private const double TauGoal = 0.99, PearsonGoal = 0.995, MeanErrGoal = 0.02, WorstErrGoal = 0.05, RepairShareGoal = 0.1;
    private const double PercentileGoal = 0.9, EvolutionGapGoal = 0.005, CostRatioGoal = 1.0 / 20, RankingGoal = 0.5;

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, IncludeFields = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() },
    };

    /// <summary>Writes the report files into <paramref name="outDir"/>; returns their paths.</summary>
    public static IReadOnlyList<string> Write(ExperimentResult r, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var files = new List<string>();
        void Save(string name, byte[] bytes) { var p = Path.Combine(outDir, name); IO.AtomicFile.WriteAllBytes(p, bytes); files.Add(p); }
        Save(JsonFile, Encoding.UTF8.GetBytes(JsonSerializer.Serialize(r, Json)));
        Save(Fig6aFile, ComparisonReport.Fig6a(AsComparison(r)));
        Save(Fig7aFile, Fig7a(r));
        Save(MarkdownFile, Encoding.UTF8.GetBytes(ToMarkdown(r)));
        return files;
    }

    /// <summary>The picks and the random sample as a <see cref="ComparisonResult"/> (search-time scores), for Fig. 6a.</summary>
    public static ComparisonResult AsComparison(ExperimentResult r)
    {
        var preset = SearchSpacePreset.Load(r.Options.Preset);
        var results = r.Picks.Select(p => new SearchResult(p.Strategy, p.TargetFlopsM, ArchitectureCodec.Parse(p.Architecture, preset), p.FlopsM,
            p.SearchTop1, double.NaN, p.SearchSeconds, p.Evaluated, Array.Empty<Trial>())).ToList();
        var totals = results.GroupBy(x => x.Strategy).Select(g => new StrategyTotal(g.Key, g.Count(), g.Sum(x => x.Seconds),
            g.Key == "generator" ? r.GeneratorSeconds : 0)).ToList();
        return new ComparisonResult(r.Preset, r.Picks.Select(p => p.TargetFlopsM).Distinct().ToArray(), results, totals, r.RandomPoints,
            r.Options.RecalibrationImages, r.ValidationImages);
    }

    private static byte[] Fig7a(ExperimentResult r)
    {
        var t = r.Tracking!;
        var preset = SearchSpacePreset.Load(r.Options.Preset);
        var dummy = Architecture.Smallest(preset);
        var results = t.TargetsM.Select((x, i) => new SearchResult("generator (calibrated), no repair", x, dummy, t.GeneratedM[i], double.NaN, double.NaN, 0, 0, Array.Empty<Trial>())).ToList();
        if (r.RawTracking is { } raw)
            results.AddRange(raw.TargetsM.Select((x, i) => new SearchResult("generator raw, no repair", x, dummy, raw.GeneratedM[i], double.NaN, double.NaN, 0, 0, Array.Empty<Trial>())));
        var cr = new ComparisonResult(r.Preset, t.TargetsM, results, Array.Empty<StrategyTotal>(), Array.Empty<RandomPoint>(), 0, 0);
        return ComparisonReport.Fig7a(cr);
    }

    /// <summary>Share of random architectures within ±5 % of <paramref name="flopsM"/> whose top-1 is at most <paramref name="top1"/>; NaN without neighbours.</summary>
    public static (double Percentile, int Neighbours) Percentile(IReadOnlyList<RandomPoint> points, double flopsM, double top1)
    {
        var near = points.Where(p => Math.Abs(p.FlopsM - flopsM) <= 0.05 * flopsM).ToList();
        return near.Count == 0 ? (double.NaN, 0) : ((double)near.Count(p => p.ValTop1 <= top1) / near.Count, near.Count);
    }

    private static string Pct(double v) => double.IsNaN(v) ? "n/a" : (100 * v).ToString("0.00", CultureInfo.InvariantCulture) + " %";
    private static string N(double v, string f = "0.000") => double.IsNaN(v) ? "n/a" : v.ToString(f, CultureInfo.InvariantCulture);
    private static string Met(bool? ok) => ok is null ? "n/a" : ok.Value ? "**met**" : "**missed**";

    /// <summary>The Markdown report: setup, targets met or missed and by how much, picks, figures, cost table, ranking.</summary>
    public static string ToMarkdown(ExperimentResult r)
    {
        var o = r.Options;
        var sb = new StringBuilder();
        void L(string s = "") => sb.Append(s).Append('\n');
        L($"# Experiment results ({o.Scale} scale)");
        L();
        L($"Written by `sgnas experiment --scale {o.Scale}` (issue 9; README \"The experiment\"). Preset `{r.Preset}`, seed {o.Seed}, device {o.Device}.");
        L();
        L("## Setup");
        L();
        L($"- Supernet: {o.SupernetEpochs} epochs on {r.TrainImages} training images (validation split held out), recipe: {o.Supernet.PathsPerStep} paths/step, lr {N(o.Supernet.LearningRate, "0.###")}, weight decay {o.Supernet.WeightDecay.ToString("G3", CultureInfo.InvariantCulture)}, label smoothing {N(o.Supernet.LabelSmoothing, "0.##")}, init {o.Supernet.Init}; validation top-1 {Pct(r.SupernetTop1)} (mean of its fixed validation paths); {N(r.SupernetSeconds / 60, "0.0")} min.");
        L($"- Generator: {o.GeneratorEpochs} epochs, prior {o.Generator.Prior}, constraint margin {(o.Generator.ConstraintMarginM is double m ? N(m) + " M" : Pct(o.Generator.MarginFraction) + " of the interval")}, selection {o.Generator.Selection} (tolerance {Pct(o.Generator.SelectionTolerance)}); kept epoch {r.GeneratorBest?.Epoch.ToString(CultureInfo.InvariantCulture) ?? "n/a"} (mean supernet top-1 {Pct(r.GeneratorBest?.MeanTop1 ?? double.NaN)}, mean relative FLOPs error {Pct(r.GeneratorBest?.MeanAbsRelError ?? double.NaN)}); {N(r.GeneratorSeconds / 60, "0.0")} min. Constraint interval {N(r.LowM)}..{N(r.HighM)} M.");
        L($"- Scoring: every candidate after BN recalibration on {o.RecalibrationImages} training images, top-1 on {r.ValidationImages} images of the supernet's validation split (search-time score). Every final pick re-scored on {r.HeldOutImages} images of the data's test split, which no search and no generator training saw (held-out score), on the supernet path it was scored on at search time (the generator's positional path, docs/generator.md).");
        L($"- Mean time per scored candidate: {N(r.SecondsPerCandidate, "0.00")} s.");
        L($"- Budgets (M FLOPs): {string.Join(", ", r.Picks.Select(p => p.TargetFlopsM).Distinct().Select(b => N(b)))}; the first at the papers' budgets (random search {o.RandomCandidates} candidates, evolution {o.EvolutionPopulation} × {o.EvolutionIterations}), the others at random {o.OtherRandomCandidates}, evolution {o.OtherEvolutionPopulation} × {o.OtherEvolutionIterations}. Generator picks {(o.GeneratorHardLimit ? "repaired to fit the budget (hard limit), as the baselines' picks always fit" : "not repaired")}.");
        L();

        // Targets.
        var t = r.Tracking!;
        L("## Targets");
        L();
        L("| target | measured | goal | verdict | margin |");
        L("| --- | --- | --- | --- | --- |");
        void Row(string name, double v, double goal, bool higher, Func<double, string> fmt)
        {
            bool? ok = double.IsNaN(v) ? null : higher ? v >= goal - 1e-9 : v <= goal + 1e-9;
            L($"| {name} | {fmt(v)} | {(higher ? "≥" : "≤")} {fmt(goal)} | {Met(ok)} | {(double.IsNaN(v) ? "n/a" : fmt(v - goal))} |");
        }
        Row($"FLOPs tracking Kendall τ ({t.TargetsM.Length} uniform budgets, no repair)", t.KendallTau, TauGoal, true, v => N(v));
        Row("FLOPs tracking Pearson r", t.Pearson, PearsonGoal, true, v => N(v, "0.0000"));
        Row("mean relative FLOPs error", t.MeanAbsRelError, MeanErrGoal, false, Pct);
        Row("worst relative FLOPs error (absolute)", Math.Abs(t.WorstRelError), WorstErrGoal, false, Pct);
        Row("share of budgets needing repair", (double)t.RepairsNeeded / t.TargetsM.Length, RepairShareGoal, false, Pct);
        foreach (var g in r.Picks.Where(p => p.Strategy == "generator"))
        {
            var (pct, n) = Percentile(r.RandomPoints.Concat(r.NeighbourPoints).ToList(), g.FlopsM, g.SearchTop1);
            int uniform = Percentile(r.RandomPoints, g.FlopsM, g.SearchTop1).Neighbours;
            Row($"{N(g.TargetFlopsM)} M: generator percentile among {n} random archs within ±5 % FLOPs ({uniform} of the uniform sample, {n - uniform} drawn in that window; search split)", pct, PercentileGoal, true, Pct);
            var evo = r.Picks.FirstOrDefault(p => p.Strategy == "evolution" && p.TargetFlopsM == g.TargetFlopsM);
            if (evo is not null) Row($"{N(g.TargetFlopsM)} M: generator − evolution, held-out top-1", g.HeldOutTop1 - evo.HeldOutTop1, -EvolutionGapGoal, true, Pct);
        }
        var (gen10, evo10) = Cost(r, 10);
        Row("cost N = 10: (generator training + 10 generations) / (evolution × 10 budgets)", gen10 / evo10, CostRatioGoal, false, v => N(v, "0.0000"));
        Row($"supernet ranking Kendall τ ({r.Ranking?.Points.Count ?? 0} architectures)", r.Ranking?.KendallTau ?? double.NaN, RankingGoal, true, v => N(v));
        L();

        L("## Picks: search-time vs held-out scores");
        L();
        L("Random search and evolution keep the best of many noisy scores on the search split, which inflates that score; the generator's pick is scored once. The held-out column is the fair comparison.");
        L();
        L("| budget M | strategy | FLOPs M | search top-1 | held-out top-1 | inflation | evaluated | seconds | architecture |");
        L("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var p in r.Picks.OrderBy(p => p.TargetFlopsM).ThenBy(p => p.Strategy, StringComparer.Ordinal))
            L($"| {N(p.TargetFlopsM)} | {p.Strategy} | {N(p.FlopsM)} | {Pct(p.SearchTop1)} | {Pct(p.HeldOutTop1)} | {N(100 * (p.SearchTop1 - p.HeldOutTop1), "+0.00;-0.00")} pt | {p.Evaluated} | {N(p.SearchSeconds, "0.0")} | `{p.Architecture}` |");
        L();
        L($"![Fig. 6a]({Fig6aFile})");
        L();
        L($"Fig. 6a: search-split top-1 vs FLOPs of {r.RandomPoints.Count} random architectures and of every pick.");
        L();
        L("## FLOPs tracking (Fig. 7a)");
        L();
        L($"{t.TargetsM.Length} budgets drawn uniformly from {N(r.LowM)}..{N(r.HighM)} M (not the generator's evaluation targets), generated in one batch without repair: Kendall τ {N(t.KendallTau)}, Pearson {N(t.Pearson, "0.0000")}, mean relative error {Pct(t.MeanAbsRelError)}, worst {Pct(t.WorstRelError)}, over budget (repair needed) {t.RepairsNeeded} of {t.TargetsM.Length}; {t.MiddleSkipPaths} of the generated paths have a skip in the middle of a layer.");
        if (r.RawTracking is { } rt)
        {
            L();
            L($"The generation above runs G at the calibrated input for each budget (docs/generator.md section 7; {t.CalibrationLevels} distinct architectures over the calibration grid). G run at the budget itself (its raw response, what Eq. 10 trains): Kendall τ {N(rt.KendallTau)}, Pearson {N(rt.Pearson, "0.0000")}, mean relative error {Pct(rt.MeanAbsRelError)}, worst {Pct(rt.WorstRelError)}, over budget {rt.RepairsNeeded} of {rt.TargetsM.Length}.");
        }
        L();
        L($"![Fig. 7a]({Fig7aFile})");
        L();
        L("## Search cost (Table 1)");
        L();
        L("Measured in this run; the baselines' per-budget time at the papers' budgets is the search at the first budget (1 run), multiplied by N for N budgets (the searches of other budgets used smaller budgets). The supernet, shared by all, is not counted.");
        L();
        L("| strategy | N = 1 | N = 10 |");
        L("| --- | --- | --- |");
        foreach (var s in new[] { "random", "evolution", "generator" })
        {
            var (c1, c10) = (CostOf(r, s, 1), CostOf(r, s, 10));
            L($"| {s} | {N(c1 / 60, "0.0")} min | {N(c10 / 60, "0.0")} min |");
        }
        L();
        L("## Supernet ranking");
        L();
        if (r.Ranking is { } k)
        {
            L($"Kendall τ between supernet-inherited top-1 (BN recalibrated, search protocol) and stand-alone top-1 after {o.RankingEpochs} epoch(s) of training from scratch on {o.RankingTrainImages} images (SGD, cosine), both on validation-split images: **τ = {N(k.KendallTau)}** (Pearson {N(k.Pearson)}; FLOPs alone vs stand-alone τ = {N(k.FlopsKendallTau)}).");
            L();
            L("| FLOPs M | supernet top-1 | stand-alone top-1 | architecture |");
            L("| --- | --- | --- | --- |");
            foreach (var p in k.Points) L($"| {N(p.FlopsM)} | {Pct(p.SupernetTop1)} | {Pct(p.StandaloneTop1)} | `{p.Architecture}` |");
            L();
        }
        L("## Middle skips (docs/generator.md section 1)");
        L();
        if (r.MiddleSkipChecks.Count == 0) L("No generator pick had a skip in the middle of a layer.");
        else
            foreach (var (target, path, compact) in r.MiddleSkipChecks)
                L($"- {N(target)} M: the pick's positional path scores {Pct(path)}, its compacted prefix path {Pct(compact)} ({N(100 * (path - compact), "+0.00;-0.00")} pt).");
        L();
        L("## Stage times (this invocation)");
        L();
        L(string.Join(", ", r.StageSeconds.Select(kv => $"{kv.Key} {N(kv.Value, "0")} s")));
        return sb.ToString();
    }

    private static double CostOf(ExperimentResult r, string strategy, int n)
    {
        if (strategy == "generator") return r.GeneratorSeconds + (n == 1 ? r.TenGenerationsSeconds / 10 : r.TenGenerationsSeconds * n / 10);
        var main = r.Picks.FirstOrDefault(p => p.Strategy == strategy);
        return main is null ? double.NaN : main.SearchSeconds * n;
    }

    private static (double Generator, double Evolution) Cost(ExperimentResult r, int n) => (CostOf(r, "generator", n), CostOf(r, "evolution", n));
}
