using System.CommandLine;
using System.Globalization;
using Sgnas.Cost;
using Sgnas.MLNet.Latency;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas latency-table</c>: measures a batch-1 latency table for a preset on this machine (docs/latency.md), and
/// with <c>--validate N</c> checks it against N random whole networks timed end to end.
/// </summary>
public sealed class LatencyTableCommand : SgnasCommand
{
    private readonly Option<string> _preset = CliOptions.Preset();
    private readonly Option<string> _runtime = CliOptions.Choice("--runtime", "onnx: ONNX Runtime, what a saved ML.NET model runs in; torch: TorchSharp",
        "onnx", "onnx", "torch", "onnxruntime", "torchsharp");
    private readonly Option<int> _threads = CliOptions.Int("--threads", "intra-op threads", 1, min: 1);
    private readonly Option<int> _warmup = CliOptions.Int("--warmup", "untimed runs per network", 20, min: 0, helpName: "W");
    private readonly Option<int> _repetitions = CliOptions.Int("--repetitions", "timed samples per network, interleaved; the median is kept", 31, min: 1, helpName: "R");
    private readonly Option<double> _minSampleMs = CliOptions.Double("--min-sample-ms", "each sample averages runs until it lasts X ms", 0.2, min: 0);
    private readonly Option<double> _quantile = CliOptions.Double("--quantile", "quantile of the samples kept (0.5 the median; 0.1 on a busy machine)", 0.5, min: 0, max: 1, helpName: "Q");
    private readonly Option<int> _seed = CliOptions.Seed(1, "weights and interleaving order");
    private readonly Option<string?> _out = CliOptions.Out("write the table (JSON) here", helpName: "FILE");
    private readonly Option<string?> _table = CliOptions.Text("--table", "validate this table instead of measuring one", "FILE");
    private readonly Option<int> _validate = CliOptions.Int("--validate", "time N random architectures end to end and compare (N >= 2; 50 or more recommended)", 0, min: 0);
    private readonly Option<double> _heldOut = CliOptions.Double("--held-out", "share of validated networks held out of the correction's fit", 0.5, min: 0, max: 1, maxExclusive: true, helpName: "F");
    private readonly Option<bool> _noCorrection = CliOptions.Flag("--no-correction", "do not store the correction a + b*sum fitted on the validated networks in --out");

    public override string Name => "latency-table";
    public override string Summary => "Measure a latency table on this machine (ONNX Runtime or TorchSharp); validate it on whole networks.";

    protected override int Run(ParseResult parse)
    {
        var preset = CliOptions.LoadPreset(parse, _preset);
        string runtimeName = parse.GetValue(_runtime)!;
        var options = new LatencyMeasurementOptions
        {
            Threads = parse.GetValue(_threads),
            Warmup = parse.GetValue(_warmup),
            Repetitions = parse.GetValue(_repetitions),
            MinSampleMs = parse.GetValue(_minSampleMs),
            Quantile = parse.GetValue(_quantile),
            Seed = parse.GetValue(_seed),
        };
        string? outPath = parse.GetValue(_out);
        string? tablePath = parse.GetValue(_table);
        int validate = parse.GetValue(_validate);
        double heldOut = parse.GetValue(_heldOut);
        bool noCorrection = parse.GetValue(_noCorrection);
        using var output = OpenOutput(parse);
        if (outPath is null && tablePath is null) throw new UsageException("--out is required (or --table FILE to validate an existing table).");
        if (tablePath is not null && validate == 0) throw new UsageException("--table only makes sense with --validate N.");
        if (validate == 1) throw new UsageException("--validate needs at least 2 architectures.");
        options.Validate();
        // The measurement takes no cancellation token: Ctrl-C ends it at once; a table is only written at the end.
        using var longRun = LongRun.Listen(Name, cancellable: false);
        longRun.Kept = outPath is null ? "nothing was written." : $"nothing was written to {outPath}; run the command again to measure.";

        using ILatencyRuntime runtime = runtimeName switch
        {
            "onnx" or "onnxruntime" => new OnnxRuntimeLatency(options.Threads),
            _ => new TorchLatencyRuntime(options.Threads),
        };
        var machine = LatencyMachine.Current();
        if (machine.LoadAverage is { } load && load > machine.LogicalCores * 0.5)
            output.Log($"warning: load average {load:F1} on {machine.LogicalCores} logical cores; latencies measured now are noisy (interleaving limits, not removes, the effect; --quantile 0.1 keeps the undisturbed runs better than the median).");

        LatencyTable table;
        IReadOnlyList<(LatencyProbe Probe, LatencySample Sample)>? probes = null;
        if (tablePath is not null)
        {
            table = LatencyTable.Load(tablePath);
            table.CheckMatches(preset);
            if (table.Runtime.Name != runtime.Name || table.Runtime.Threads != runtime.Threads)
                output.Log($"warning: {tablePath} was measured in {table.Runtime.Name} with {table.Runtime.Threads} thread(s); validating in {runtime.Name} with {runtime.Threads}.");
        }
        else
        {
            (table, probes) = LatencyTableBuilder.Measure(preset, runtime, options, output.Log);
        }

        LatencyValidationReport? report = null;
        if (validate > 0)
        {
            report = LatencyValidation.Run(preset, table, runtime, validate, options, heldOut, output.Log);
            if (!noCorrection && report.CorrectionFromAll is { } c) table = table with { Correction = c };
        }
        if (outPath is not null)
        {
            table.Save(outPath);
            output.Log($"wrote {outPath}");
        }

        var model = new LatencyCostModel(preset, table);
        var (min, max) = model.Range();
        output.Result(new
        {
            preset = preset.Name,
            table = outPath ?? tablePath,
            runtime = table.Runtime,
            machine = table.Machine,
            fixedMs = table.FixedMs,
            smallestMs = min,
            largestMs = max,
            correction = table.Correction,
            probes = probes?.Select(p => new { probe = p.Probe.ToString(), medianMs = p.Sample.MedianMs, relativeIqr = p.Sample.RelativeIqr, runsPerSample = p.Sample.RunsPerSample }),
            validation = report,
        }, () => Human(preset, table, probes, report, min, max));
        return 0;
    }

    private static string Human(SearchSpacePreset preset, LatencyTable t, IReadOnlyList<(LatencyProbe Probe, LatencySample Sample)>? probes,
        LatencyValidationReport? r, double min, double max)
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new System.Text.StringBuilder();
        sb.AppendLine(c, $"latency table  {preset.Name}  {t.Runtime.Name} {t.Runtime.Version}  {t.Runtime.Threads} thread(s)  {t.Machine.Cpu}");
        sb.AppendLine(c, $"fixed (stem + head + run) {t.FixedMs:F4} ms; architectures {min:F3} .. {max:F3} ms (smallest .. largest)");
        sb.AppendLine("layer  c_in->c_out s  depthwise ms (" + string.Join(" ", t.Kernels.Select(k => $"k{k}")) + ")   rest of block ms (" +
            string.Join(" ", Enumerable.Range(t.MinExpansion, t.MaxExpansion - t.MinExpansion + 1).Select(e => $"e{e}")) + ")");
        for (int i = 0; i < t.Layers.Count; i++)
        {
            var l = t.Layers[i];
            sb.AppendLine(c, $"{i,5}  {l.InChannels,4}->{l.OutChannels,-4} {l.Stride}  {string.Join(" ", l.DepthwiseMs.Select(v => v.ToString("F4", c)))}   {string.Join(" ", l.PointwiseMs.Select(v => v.ToString("F4", c)))}");
        }
        if (probes is not null)
        {
            double worst = probes.Max(p => p.Sample.RelativeIqr);
            sb.AppendLine(c, $"probe noise: median relative IQR {InterleavedTimer.Median(probes.Select(p => p.Sample.RelativeIqr)):P1}, worst {worst:P1}");
        }
        if (r is not null)
        {
            string Line(string name, LatencyAccuracy a) =>
                string.Format(c, "{0,-34} n={1,3}  Pearson {2:F4}  mean rel. error {3:P2}  worst {4:P2}  within ±10 % {5:P1}", name, a.Count, a.Pearson, a.MeanRelativeError, a.WorstRelativeError, a.WithinTenPercent);
            sb.AppendLine(Line("table sum vs measured (all)", r.Raw));
            if (r.RawHeldOut is not null) sb.AppendLine(Line("table sum (held-out)", r.RawHeldOut));
            if (r.CorrectedHeldOut is not null && r.CorrectionFromTraining is { } ct)
                sb.AppendLine(Line(string.Format(c, "corrected {0:F4} + {1:F4}*sum (held-out)", ct.Intercept, ct.Slope), r.CorrectedHeldOut));
            if (t.Correction is { } cc) sb.AppendLine(c, $"stored correction (fit on all {cc.FittedOn}): {cc.Intercept:F4} + {cc.Slope:F4} * sum");
            sb.AppendLine(c, $"median relative IQR of the end-to-end samples: {InterleavedTimer.Median(r.Points.Select(p => p.RelativeIqr)):P1}");
        }
        return sb.ToString().TrimEnd();
    }
}
