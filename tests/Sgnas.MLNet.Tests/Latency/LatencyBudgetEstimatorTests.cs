using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.IO;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Latency;
using Sgnas.MLNet.Pipeline;
using Sgnas.Search;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;

namespace Sgnas.MLNet.Tests.Latency;

/// <summary>
/// A tiny run folder (supernet trained for one epoch on synthetic 8×8 images) shared by the latency-budget tests of
/// the ML.NET surface (docs/latency.md): GeneratorSearch trained against a latency table, its transformer on a column
/// of ms budgets, and ONNX Runtime latency beside FLOPs in a comparison.
/// </summary>
public sealed class TinyLatencyRunFixture : IDisposable
{
    public string Dir { get; } = Directory.CreateTempSubdirectory("sgnas-latency-mlnet-").FullName;
    public SearchSpacePreset Preset { get; } = new()
    {
        Name = "tiny-mlnet-lat", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(8, 1), new LayerSpec(8, 2), new LayerSpec(12, 1) }, HeadChannels = 16,
        Mean = new[] { 0.5f }, Std = new[] { 0.25f },
    };
    public ImageDataset Images { get; }
    public string TablePath => Path.Combine(Dir, "table.json");
    public LatencyTable Table { get; }

    public TinyLatencyRunFixture()
    {
        torch.set_num_threads(1);
        var r = new Random(1);
        int n = 240;
        var labels = Enumerable.Range(0, n).Select(i => i % 3).ToArray();
        var pixels = new byte[n * 64];
        for (int i = 0; i < n; i++)
            for (int p = 0; p < 64; p++)
            {
                bool on = labels[i] == 0 ? p < 32 : labels[i] == 1 ? p % 8 < 4 : false;
                pixels[i * 64 + p] = (byte)Math.Clamp((on ? 200 : 40) + r.Next(-30, 30), 0, 255);
            }
        Images = new ImageDataset(pixels, 1, 8, 8, labels, 3);
        // The same images as IDX files, so a SearchSession can read the supernet's data set again.
        string data = Path.Combine(Dir, "data");
        Directory.CreateDirectory(data);
        var idx = new byte[16 + pixels.Length];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(idx, 0x803);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(4), n);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(8), 8);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(idx.AsSpan(12), 8);
        pixels.CopyTo(idx, 16);
        var lab = new byte[8 + n];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(lab, 0x801);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(lab.AsSpan(4), n);
        for (int i = 0; i < n; i++) lab[8 + i] = (byte)labels[i];
        File.WriteAllBytes(Path.Combine(data, "train-images-idx3-ubyte"), idx);
        File.WriteAllBytes(Path.Combine(data, "train-labels-idx1-ubyte"), lab);
        new Sgnas.Training.SupernetTrainer(Preset, new SupernetTrainerOptions { Epochs = 1, BatchSize = 32, ValidationFraction = 0.5, Seed = 1, DataPath = data })
            .Train(Images, new RunFolder(Dir));
        Table = Realistic(Preset);
        Table.Save(TablePath);
    }

    /// <summary>A table whose depthwise convs are dear per MAC (memory-bound), so it ranks unlike FLOPs.</summary>
    public static LatencyTable Realistic(SearchSpacePreset p)
    {
        var flops = new FlopsLookupTable(p);
        var geo = p.Geometry();
        return new LatencyTable
        {
            Preset = p.Name, Kernels = p.Kernels.ToArray(), MinExpansion = p.MinExpansion, MaxExpansion = p.MaxExpansion, FixedMs = 0.01,
            Layers = geo.Select((g, i) => new LatencyLayerEntry
            {
                InChannels = g.InChannels, OutChannels = g.OutChannels, Stride = g.Stride, InSize = g.InSize,
                DepthwiseMs = p.Kernels.Select((_, k) => 0.002 + 2e-2 * flops.DepthwiseMacs[i, k] / 1e6).ToArray(),
                PointwiseMs = Enumerable.Range(p.MinExpansion, p.MaxExpansion - p.MinExpansion + 1)
                    .Select(e => 0.004 + 2e-3 * Math.Pow(e, 0.8) * flops.PointwiseMacs[i] / p.MaxExpansion / 1e6).ToArray(),
            }).ToArray(),
            Machine = new LatencyMachine { Cpu = "test", LogicalCores = 1, Os = "test", DotNet = "test" },
            Runtime = new LatencyRuntimeInfo { Name = "synthetic", Version = "0", Threads = 1, Warmup = 0, Repetitions = 1 },
            CreatedUtc = "2026-12-01T00:00:00Z",
        };
    }

    public void Dispose() => Directory.Delete(Dir, recursive: true);
}

public class LatencyBudgetEstimatorTests(TinyLatencyRunFixture f) : IClassFixture<TinyLatencyRunFixture>
{
    private sealed class MsBudget { public float TargetLatencyMs { get; set; } }
    private sealed class FlopsBudget { public float TargetFlopsM { get; set; } }
    private sealed class Row
    {
        public float TargetLatencyMs { get; set; }
        public string Architecture { get; set; } = "";
        public double FlopsM { get; set; }
        public double PredictedMs { get; set; }
        public double MeasuredMs { get; set; }
        public bool Repaired { get; set; }
    }

    private sealed class ArchRow { public string Architecture { get; set; } = ""; }

    private static GeneratorOptions Tiny => new() { Epochs = 2, BatchSize = 32, EvaluationTargets = 4, PriorBuckets = 4, EvaluationBatches = 1 };

    [Fact]
    public void GeneratorSearchTrainsForMillisecondsAndItsTransformerReadsAColumnOfMsBudgets()
    {
        var ml = new MLContext(seed: 1);
        var images = ml.Data.LoadFromImageDataset(f.Images);
        var measure = new LatencyMeasurementOptions { Warmup = 1, Repetitions = 3, MinSampleMs = 0 };
        var estimator = ml.Transforms.GeneratorSearch(new GeneratorSearch.Options
        {
            RunFolder = f.Dir, LatencyTablePath = f.TablePath, Training = Tiny, HardLimit = true, MeasureLatency = measure,
        });
        var cost = ConstraintCost.Create(ConstraintKind.Latency, f.Preset, f.Table);
        var (min, max) = cost.Range();
        var targets = new[] { 0.2, 0.5, 0.8 }.Select(x => (float)(min + x * (max - min))).ToArray();
        var budgets = ml.Data.LoadFromEnumerable(targets.Select(t => new MsBudget { TargetLatencyMs = t }));

        // schema first: the ms column is required and named, the output has PredictedMs and MeasuredMs
        var shape = estimator.GetOutputSchema(SchemaChecks.ShapeOf(budgets.Schema));
        Assert.NotNull(SchemaChecks.Find(shape, GeneratorTransformer.PredictedMsColumn));
        Assert.NotNull(SchemaChecks.Find(shape, GeneratorTransformer.MeasuredMsColumn));
        var flopsColumn = ml.Data.LoadFromEnumerable(new[] { new FlopsBudget { TargetFlopsM = 3 } });
        var e = Assert.ThrowsAny<ArgumentException>(() => estimator.GetOutputSchema(SchemaChecks.ShapeOf(flopsColumn.Schema)));
        Assert.Contains("Target column 'TargetLatencyMs'", e.Message);
        Assert.Contains("ms", e.Message);

        using var transformer = estimator.Fit(images);
        Assert.Equal(ConstraintKind.Latency, transformer.Model.Kind);
        var output = transformer.Transform(budgets);
        Assert.Equal(shape.Select(c => c.Name), output.Schema.Select(c => c.Name));
        var rows = ml.Data.CreateEnumerable<Row>(output, reuseRowObject: false).ToArray();
        Assert.Equal(3, rows.Length);
        foreach (var r in rows)
        {
            var arch = ArchitectureCodec.Parse(r.Architecture, f.Preset);
            Assert.Equal(f.Table.PredictMs(arch), r.PredictedMs, 9);
            Assert.True(r.PredictedMs <= r.TargetLatencyMs + 1e-6, $"{r.Architecture}: {r.PredictedMs} ms > {r.TargetLatencyMs} ms");
            Assert.True(r.MeasuredMs > 0 && double.IsFinite(r.MeasuredMs));
            Assert.Equal(new FlopsLookupTable(f.Preset).CostM(arch), r.FlopsM, 9);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => transformer.Transform(flopsColumn));

        // the run folder remembers the kind: a FLOPs load is refused with a clear message, a latency load works
        var mismatch = Assert.Throws<ConstraintMismatchException>(() => GeneratorTransformer.Load(f.Dir));
        Assert.Contains("latency budgets", mismatch.Message);
        using var again = GeneratorTransformer.Load(f.Dir, hardLimit: true, kind: ConstraintKind.Latency, latencyTablePath: f.TablePath);
        Assert.Equal(rows.Select(r => r.Architecture),
            ml.Data.CreateEnumerable<ArchRow>(again.Transform(budgets), reuseRowObject: false).Select(r => r.Architecture));
        Assert.Null(again.Transform(budgets).Schema.GetColumnOrNull(GeneratorTransformer.MeasuredMsColumn));
    }

    [Fact]
    public void SgnasSearchOptionsCheckTheLatencyBudget()
    {
        var ok = new SgnasSearch.Options { Preset = PresetPath(), TargetLatencyMs = 0.1, LatencyTablePath = f.TablePath };
        var (min, max) = ConstraintCost.Create(ConstraintKind.Latency, f.Preset, f.Table).Range();
        _ = new SgnasSearch(new SgnasSearch.Options { Preset = PresetPath(), TargetLatencyMs = (min + max) / 2, LatencyTablePath = f.TablePath });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new SgnasSearch(new SgnasSearch.Options { Preset = PresetPath(), TargetLatencyMs = max * 3, LatencyTablePath = f.TablePath }));
        Assert.Contains("TargetLatencyMs", e.Message);
        Assert.Contains("ms", e.Message);
        var both = Assert.Throws<ArgumentException>(() => new SgnasSearch(new SgnasSearch.Options { Preset = PresetPath(), TargetFlopsM = 1, TargetLatencyMs = 0.1, LatencyTablePath = f.TablePath }));
        Assert.Contains("not both", both.Message);
        var noTable = Assert.Throws<ArgumentException>(() => new SgnasSearch(new SgnasSearch.Options { Preset = PresetPath(), TargetLatencyMs = 0.1 }));
        Assert.Contains("LatencyTablePath", noTable.Message);
        var wrongPreset = Assert.Throws<ArgumentException>(() => new SgnasSearch(new SgnasSearch.Options { Preset = "fashion-small", TargetLatencyMs = 0.1, LatencyTablePath = f.TablePath }));
        Assert.Contains("LatencyTablePath", wrongPreset.Message);
        Assert.NotNull(ok);
    }

    [Fact]
    public void ComparisonPicksGetOnnxRuntimeLatencyBesideFlops()
    {
        using var session = SearchSession.Open(f.Dir, torch.CPU, new SearchSessionOptions
        {
            Evaluation = new CandidateEvaluatorOptions { RecalibrationImages = 32, ValidationImages = 32, BatchSize = 32 },
        });
        var cost = session.ConstraintCost(ConstraintKind.Latency, f.TablePath);
        var (min, max) = cost.Range();
        var strategies = SearchStrategies.ForComparison(session, cost, new RandomSearchOptions { Evaluations = 2 },
            new EvolutionSearchOptions { Population = 2, Iterations = 1, TopK = 1 });
        var budget = min + 0.5 * (max - min);
        var result = new ComparisonHarness(session.Evaluator, strategies).Run(new[] { budget }, randomPoints: 0);
        var measured = OnnxLatency.MeasureComparison(result, f.Preset, new LatencyMeasurementOptions { Warmup = 1, Repetitions = 3, MinSampleMs = 0 });
        Assert.All(measured.Results, r =>
        {
            Assert.Equal(ConstraintKind.Latency, r.Kind);
            Assert.True(r.WithinTarget);
            Assert.True(r.MeasuredMs > 0);
        });
        var csv = Sgnas.MLNet.Reports.ComparisonReport.ToCsv(measured);
        Assert.StartsWith("strategy,targetFlopsM,flopsM,withinTarget,valTop1,valLoss,seconds,evaluated,architecture,kind,cost,measuredMs\n", csv);
        Assert.Contains(",latency,", csv);
        var json = Sgnas.MLNet.Reports.ComparisonReport.ToJson(measured);
        Assert.Equal(measured.Results[0].MeasuredMs, json["results"]![0]!["measuredMs"]!.GetValue<double>());
        Assert.Contains("ORT", Sgnas.MLNet.Reports.ComparisonReport.ToTable(measured));
        // FLOPs comparisons keep their columns
        Assert.DoesNotContain("measuredMs", Sgnas.MLNet.Reports.ComparisonReport.ToCsv(result with { Results = result.Results.Select(r => r with { Kind = ConstraintKind.Flops }).ToList() }));
    }

    private string PresetPath()
    {
        string path = Path.Combine(f.Dir, "preset.json");
        if (!File.Exists(path)) File.WriteAllText(path, f.Preset.ToJson());
        return path;
    }
}
