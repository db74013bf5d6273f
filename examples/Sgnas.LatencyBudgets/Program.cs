// Latency budgets end to end with the public API (README "Latency budgets", docs/latency.md):
//   1. measure a latency table for the run's preset on this machine in ONNX Runtime (or reuse one);
//   2. train the architecture generator against it (GeneratorSearch with LatencyTablePath) on a copy of the run;
//   3. generate architectures for N ms budgets in one pass, each measured end to end in ONNX Runtime;
//   4. report how measured latency tracks the budgets (Kendall τ, Pearson, mean relative error, worst excess),
//      without and with the hard limit.
// Usage:
//   dotnet run -c Release --project examples/Sgnas.LatencyBudgets -- --run RUN --out DIR
//       [--table FILE] [--epochs 30] [--val-images 1200] [--budgets 10] [--repetitions 101] [--quantile 0.1]
//       [--reuse-generator true]   (judge the generator already trained in DIR/run instead of training again)
// Right before the picks are timed, the table is measured again: a shared machine's speed drifts over the minutes the
// generator trains, and the report separates that drift from the generator's tracking.
using System.Globalization;
using System.Text.Json;
using Microsoft.ML;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.MLNet;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Latency;

var opts = new Dictionary<string, string>();
for (int i = 0; i + 1 < args.Length; i += 2) opts[args[i].TrimStart('-')] = args[i + 1];
string Arg(string name, string fallback) => opts.TryGetValue(name, out var v) ? v : fallback;
int IntArg(string name, int fallback) => int.Parse(Arg(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
if (!opts.ContainsKey("run") || !opts.ContainsKey("out"))
{
    Console.Error.WriteLine("usage: --run RUN (a trained supernet) --out DIR [--table FILE] [--epochs 30] [--val-images 1200] [--budgets 10] [--repetitions 101] [--quantile 0.1]");
    return 2;
}
string outDir = Path.GetFullPath(Arg("out", ""));
Directory.CreateDirectory(outDir);
var measure = new LatencyMeasurementOptions
{
    Repetitions = IntArg("repetitions", 101),
    Quantile = double.Parse(Arg("quantile", "0.1"), CultureInfo.InvariantCulture),
};

// The generator is trained into a copy, so the given run folder is left as it was.
string run = Path.Combine(outDir, "run");
Directory.CreateDirectory(run);
foreach (var f in Directory.EnumerateFiles(Arg("run", ""), "supernet*")) File.Copy(f, Path.Combine(run, Path.GetFileName(f)), overwrite: true);
var preset = SupernetCheckpoint.ReadPreset(new RunFolder(run));

// 1. The latency table of this machine (ONNX Runtime, batch 1).
string tablePath = Path.Combine(outDir, "latency.json");
var clock = System.Diagnostics.Stopwatch.StartNew();
if (opts.TryGetValue("table", out var given)) { if (Path.GetFullPath(given) != tablePath) File.Copy(given, tablePath, overwrite: true); }
else
{
    using var runtime = new OnnxRuntimeLatency(measure.Threads);
    LatencyTableBuilder.Measure(preset, runtime, measure).Table.Save(tablePath);
}
double tableSeconds = clock.Elapsed.TotalSeconds;

// 2. The generator, trained for milliseconds (or the one trained before).
var ml = new MLContext(seed: 0);
clock.Restart();
using var generator = Arg("reuse-generator", "false") == "true"
    ? GeneratorTransformer.Load(run, kind: ConstraintKind.Latency, latencyTablePath: tablePath, measureLatency: measure)
    : ml.Transforms.GeneratorSearch(new GeneratorSearch.Options
    {
        RunFolder = run,
        LatencyTablePath = tablePath,
        Training = SgnasSearchDefaults.Generator with { Epochs = IntArg("epochs", 30) },
        MaxValidationImages = IntArg("val-images", SgnasSearchDefaults.MaxGeneratorImages),
        MeasureLatency = measure,
    }).Fit(ml.Data.LoadFromFashionMnist(DatasetSplit.Train));
double trainSeconds = clock.Elapsed.TotalSeconds;

// The machine now: the same table measured again, in the same minutes as the picks.
LatencyTable fresh;
using (var runtime = new OnnxRuntimeLatency(measure.Threads)) fresh = LatencyTableBuilder.Measure(preset, runtime, measure).Table;
fresh.Save(Path.Combine(outDir, "latency-now.json"));

// 3. N budgets over the generator's interval, without and with the hard limit; every pick measured in ONNX Runtime.
var model = generator.Model;
var budgets = ArchitectureGeneratorModel.EvenTargets(model.LowM, model.HighM, IntArg("budgets", 10));
object Judge(bool hardLimit)
{
    var picks = model.Generate(budgets, hardLimit);
    var measured = OnnxLatency.MeasureMs(preset, picks.Select(p => p.Architecture).ToList(), measure);
    var predicted = picks.Select(p => p.Cost).ToArray();
    var predictedNow = picks.Select(p => fresh.PredictMs(p.Architecture)).ToArray();
    var excess = budgets.Select((b, i) => measured[i] / b - 1).ToArray();
    // The budgets rescaled by the machine's drift (fresh / training table over the picks): what the budgets mean now.
    double drift = predictedNow.Zip(predicted, (now, then) => now / then).Average();
    return new
    {
        hardLimit,
        kendallTau = Correlation.KendallTau(budgets, measured),
        pearson = Correlation.Pearson(budgets, measured),
        meanRelativeError = Correlation.MeanAbsoluteRelativeError(budgets, measured),
        predictedMeanRelativeError = Correlation.MeanAbsoluteRelativeError(budgets, predicted),
        worstExcess = excess.Max(),
        overBudgetBy10Percent = excess.Count(e => e > 0.10),
        machineDrift = drift,
        tableNowVsMeasuredMeanRelativeError = Correlation.MeanAbsoluteRelativeError(measured.ToList(), predictedNow),
        driftCorrected = new
        {
            meanRelativeError = Correlation.MeanAbsoluteRelativeError(budgets.Select(b => b * drift).ToList(), measured),
            worstExcess = budgets.Select((b, i) => measured[i] / (b * drift) - 1).Max(),
            overBudgetBy10Percent = budgets.Select((b, i) => measured[i] / (b * drift) - 1).Count(e => e > 0.10),
        },
        picks = picks.Select((p, i) => new
        {
            budgetMs = budgets[i], predictedMs = p.Cost, measuredMs = measured[i], flopsM = p.FlopsM, repaired = p.Repaired,
            architecture = p.Architecture.ToString(),
        }).ToArray(),
    };
}
var report = new
{
    preset = preset.Name,
    runtime = "onnxruntime",
    measurement = measure,
    intervalMs = new[] { model.LowM, model.HighM },
    generatorBestEpoch = model.BestEpoch,
    tableSeconds,
    trainSeconds,
    loadAverage = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : null,
    raw = Judge(hardLimit: false),
    withHardLimit = Judge(hardLimit: true),
};
string json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
File.WriteAllText(Path.Combine(outDir, "latency-budgets.json"), json);
Console.WriteLine(json);
return 0;
