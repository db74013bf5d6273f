// Consumer app of scripts/package-test.sh: built OUTSIDE the repository, referencing Sgnas.MLNet only as a package
// from a local feed. Proves that TorchSharp loads (buildTransitive native fix), that a supernet runs forward, and that
// SgnasSearch fits, saves and scores on a tiny budget. Exit code 0 = pass; every check prints "ok ..." or throws.
using Microsoft.ML;
using Sgnas.Data;
using Sgnas.Generation;
using Sgnas.MLNet;
using Sgnas.MLNet.Data;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;

string runFolder = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "sgnas-consumer-run");
bool forwardOnly = args.Contains("--forward-only");
var clock = System.Diagnostics.Stopwatch.StartNew();

// 1. A supernet forward pass: loads LibTorchSharp and libtorch from this app's output folder.
var preset = SearchSpacePreset.Load("fashion-small");
using (var supernet = new Supernet(preset))
using (var x = torch.rand(2, preset.InputChannels, preset.InputSize, preset.InputSize))
using (var logits = supernet.Forward(x, Architecture.Largest(preset)))
{
    if (logits.shape[0] != 2 || logits.shape[1] != preset.NumClasses)
        throw new Exception($"supernet logits have shape [{string.Join(", ", logits.shape)}]");
    Console.WriteLine($"ok supernet forward [{string.Join(", ", logits.shape)}] ({clock.Elapsed.TotalSeconds:F1} s)");
}
if (forwardOnly) return 0;

// 2. SgnasSearch on a Fashion-MNIST subset with tiny stage budgets, as a trainer of the multiclass catalog.
var ml = new MLContext(seed: 0);
var train = ml.Data.TakeRows(ml.Data.LoadFromFashionMnist(DatasetSplit.Train), 600);
var test = ml.Data.TakeRows(ml.Data.LoadFromFashionMnist(DatasetSplit.Test), 100);
var model = ml.Transforms.SgnasSearch(new SgnasSearch.Options
{
    RunFolder = runFolder,
    TargetFlopsM = 3.0,
    Supernet = new SupernetTrainerOptions { Epochs = 1, BatchSize = 64 },
    Generator = new GeneratorOptions { Epochs = 1, BatchSize = 16, EvaluationTargets = 4, PriorBuckets = 4, EvaluationBatches = 1 },
    MaxGeneratorImages = 32,
    Retrain = new RetrainOptions { Epochs = 1, BatchSize = 64, Optimizer = RetrainOptimizer.Sgd },
}).Fit(train);
var metrics = ml.MulticlassClassification.Evaluate(model.Transform(test));
if (model.FlopsM > 3.0 + 1e-9) throw new Exception($"FLOPs {model.FlopsM} M exceed the 3 M budget");
Console.WriteLine($"ok SgnasSearch fit: {model.Architecture}, {model.FlopsM:F3} M FLOPs, accuracy {metrics.MicroAccuracy:F3}; " +
    string.Join(", ", model.Report!.StageSeconds.Select(kv => $"{kv.Key} {kv.Value:F1} s")));

string zip = Path.Combine(runFolder, "model.zip");
model.Save(ml, train.Schema, zip);
var loaded = new MLContext().Model.Load(zip, out _);
var rows = ml.Data.CreateEnumerable<ScoreRow>(loaded.Transform(test), reuseRowObject: false).Take(3).ToArray();
if (rows.Length != 3 || rows.Any(r => Math.Abs(r.Score.Sum() - 1f) > 1e-3f)) throw new Exception("reloaded model.zip does not score");
Console.WriteLine($"ok model.zip saved and reloaded ({new FileInfo(zip).Length} bytes)");
return 0;

sealed class ScoreRow { public float[] Score { get; set; } = []; }
