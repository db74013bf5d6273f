using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Tests.Data;
using Sgnas.SearchSpace;
using Sgnas.Training;
using Xunit.Abstractions;

namespace Sgnas.MLNet.Tests.Estimators;

/// <summary>
/// The real pipeline on a Fashion-MNIST subset with tiny budgets: mlContext.Transforms.SgnasSearch trains all stages,
/// the result evaluates with ML.NET, saves to a .zip that a process without TorchSharp scores identically, and the
/// generator of the same run folder maps a column of budgets to architectures.
/// </summary>
public sealed class SgnasSearchIntegrationTests(ITestOutputHelper log) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-search-it-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private sealed class Budget
    {
        public float TargetFlopsM { get; set; }
    }

    [FashionMnistFact]
    public void SgnasSearchEndToEndOnAFashionMnistSubset()
    {
        var ml = new MLContext(seed: 0);
        var train = ml.Data.TakeRows(ml.Data.ShuffleRows(ml.Data.LoadFromFashionMnist(DatasetSplit.Train), seed: 1), 1600);
        var test = ml.Data.TakeRows(ml.Data.LoadFromFashionMnist(DatasetSplit.Test), 300);
        var progress = new List<TrainingProgress>();
        var options = new SgnasSearch.Options
        {
            RunFolder = _dir,
            TargetFlopsM = 3.0,
            Supernet = new SupernetTrainerOptions { Epochs = 1, BatchSize = 64 },
            Generator = new GeneratorOptions { Epochs = 1, BatchSize = 32, EvaluationTargets = 4, PriorBuckets = 4, EvaluationBatches = 1 },
            MaxGeneratorImages = 96,
            Retrain = new RetrainOptions { Epochs = 4, BatchSize = 64, Optimizer = RetrainOptimizer.Sgd },
            TestData = test,
            Progress = new Progress<TrainingProgress>(p => { lock (progress) progress.Add(p); }),
        };
        var model = ml.Transforms.SgnasSearch(options).Fit(train);

        var report = model.Report!;
        log.WriteLine(JsonSerializer.Serialize(report));
        Assert.True(report.FlopsM <= 3.0 + 1e-9, $"hard limit: {report.FlopsM} M > 3 M");
        var preset = SearchSpacePreset.Load("fashion-small");
        Assert.Equal(report.FlopsM, FlopsCounter.Count(preset, ArchitectureCodec.Parse(report.Architecture, preset)).FlopsM, 6);
        Assert.True(File.Exists(Path.Combine(_dir, "supernet.json")) && File.Exists(Path.Combine(_dir, "generator.json")));
        Assert.True(File.Exists(Path.Combine(_dir, "model.onnx")));

        // ML.NET evaluation on held-out images: the retrained network must beat chance (0.1) clearly.
        var scored = model.Transform(test);
        var metrics = ml.MulticlassClassification.Evaluate(scored);
        log.WriteLine($"test accuracy {metrics.MicroAccuracy:F3}, log-loss {metrics.LogLoss:F3}");
        Assert.True(metrics.MicroAccuracy > 0.3, $"accuracy {metrics.MicroAccuracy}");
        Assert.Equal(report.TestTop1!.Value, metrics.MicroAccuracy, 2);

        // Saved .zip: reloaded in-process without Sgnas types, and in a process with no TorchSharp at all.
        string zip = Path.Combine(_dir, "model.zip");
        model.Save(ml, train.Schema, zip);
        var loaded = new MLContext().Model.Load(zip, out _);
        Assert.IsNotType<SgnasModel>(loaded);
        var expected = Scores(ml, scored).Take(20).ToArray();
        var again = Scores(ml, loaded.Transform(test)).Take(20).ToArray();
        Assert.True(MaxDiff(expected, again) <= 1e-4);

        var images = ml.Data.CreateEnumerable<FeatureRow>(ml.Data.TakeRows(test, 8), reuseRowObject: false).Select(r => r.Features).ToArray();
        string input = Path.Combine(_dir, "images.json");
        File.WriteAllText(input, JsonSerializer.Serialize(new { features = images }));
        var (exit, stdout, stderr) = PredictApp.Run("--model", zip, "--input", input, "--json");
        Assert.True(exit == 0, stderr);
        using var doc = JsonDocument.Parse(stdout);
        var other = doc.RootElement.GetProperty("scores").EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetSingle()).ToArray()).ToArray();
        Assert.True(MaxDiff(expected.Take(8).ToArray(), other) <= 1e-4);

        // Progress was reported by every training stage.
        Assert.Contains(progress, p => p.Stage == Sgnas.Training.SupernetTrainer.StageName);
        Assert.True(progress.Select(p => p.Stage).Distinct().Count() >= 3, string.Join(",", progress.Select(p => p.Stage).Distinct()));

        // The generator of this run maps a column of budgets to architectures, all rows in one batched pass.
        using var generator = GeneratorTransformer.Load(_dir, hardLimit: true);
        var budgets = ml.Data.LoadFromEnumerable(new[] { 2.0f, 2.5f, 3.5f, 4.5f }.Select(t => new Budget { TargetFlopsM = t }));
        var generated = generator.Transform(budgets);
        var rows = ml.Data.CreateEnumerable<GeneratedRow>(generated, reuseRowObject: false).ToArray();
        Assert.Equal(4, rows.Length);
        foreach (var r in rows)
        {
            Assert.True(r.FlopsM <= r.TargetFlopsM + 1e-6, $"{r.Architecture}: {r.FlopsM} > {r.TargetFlopsM}");
            Assert.Equal(r.FlopsM, FlopsCounter.Count(preset, ArchitectureCodec.Parse(r.Architecture, preset)).FlopsM, 5);
        }
    }

    private static IEnumerable<float[]> Scores(MLContext ml, IDataView scored) =>
        ml.Data.CreateEnumerable<ScoreRow>(scored, reuseRowObject: false).Select(r => r.Score);

    private static double MaxDiff(float[][] a, float[][] b) =>
        a.Zip(b).Max(p => p.First.Zip(p.Second).Max(q => Math.Abs(q.First - q.Second)));

    private sealed class ScoreRow { public float[] Score { get; set; } = []; }
    private sealed class FeatureRow { public float[] Features { get; set; } = []; }
    private sealed class GeneratedRow
    {
        public float TargetFlopsM { get; set; }
        public string Architecture { get; set; } = "";
        public double FlopsM { get; set; }
        public double ParamsM { get; set; }
        public bool Repaired { get; set; }
    }
}
