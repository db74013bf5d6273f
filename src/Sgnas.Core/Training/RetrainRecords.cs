using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Sgnas.Training;

/// <summary>Metrics of one retraining epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="LearningRate">Rate of the epoch's last step.</param>
/// <param name="TrainLoss">Mean training loss (label-smoothed cross-entropy, without the weight-decay term).</param>
/// <param name="TrainTop1">Training top-1 (on augmented images, in train mode).</param>
/// <param name="ValidationLoss">Mean validation cross-entropy, or null without a validation split.</param>
/// <param name="ValidationTop1">Validation top-1, or null.</param>
/// <param name="ValidationTop5">Validation top-5, or null.</param>
/// <param name="Seconds">Wall time of the epoch (training and validation).</param>
/// <param name="ImagesPerSecondTrain">Training images per second (training steps only).</param>
public sealed record RetrainEpochRecord(int Epoch, double LearningRate, double TrainLoss, double TrainTop1,
    double? ValidationLoss, double? ValidationTop1, double? ValidationTop5, double Seconds, double ImagesPerSecondTrain);

/// <summary>Contents of <c>state.json</c>: everything needed to resume, and to rebuild the network for export.</summary>
public sealed record RetrainState
{
    /// <summary>Format version of this file.</summary>
    public int FormatVersion { get; init; } = 1;
    /// <summary>Architecture text (canonical).</summary>
    public required string Architecture { get; init; }
    /// <summary>The whole preset.</summary>
    public required JsonNode Preset { get; init; }
    /// <summary>Options of the run.</summary>
    public required RetrainOptions Options { get; init; }
    /// <summary>Completed epochs.</summary>
    public int Epoch { get; init; }
    /// <summary>Learning rate of the last step taken.</summary>
    public double LearningRate { get; init; }
    /// <summary>Best validation top-1 so far (−1 before any validation).</summary>
    public double BestValidationTop1 { get; init; } = -1;
    /// <summary>Epoch of <c>best.pt</c>.</summary>
    public int BestEpoch { get; init; }
    /// <summary>Input normalisation mean per channel (what inference must apply).</summary>
    public required float[] NormalizationMean { get; init; }
    /// <summary>Input normalisation std per channel.</summary>
    public required float[] NormalizationStd { get; init; }
    /// <summary>Seconds spent in training steps so far.</summary>
    public double TrainSeconds { get; init; }
    /// <summary>Training images processed so far.</summary>
    public long TrainImages { get; init; }
    /// <summary>Wall seconds so far (training and validation).</summary>
    public double Seconds { get; init; }
    /// <summary>Per-epoch metrics.</summary>
    public List<RetrainEpochRecord> History { get; init; } = new();
}

/// <summary>Contents of <c>metrics.json</c>: the best checkpoint measured on the held-out test set.</summary>
public sealed record RetrainMetrics
{
    /// <summary>Architecture text (canonical).</summary>
    public required string Architecture { get; init; }
    /// <summary>Preset name.</summary>
    public required string Preset { get; init; }
    /// <summary>Test top-1 of best.pt, or null when no test set was given.</summary>
    public double? TestTop1 { get; init; }
    /// <summary>Test top-5 of best.pt, or null.</summary>
    public double? TestTop5 { get; init; }
    /// <summary>Mean test cross-entropy, or null.</summary>
    public double? TestLoss { get; init; }
    /// <summary>Number of test images.</summary>
    public int TestImages { get; init; }
    /// <summary>Where the test images came from (test file, test folder, or the held-out part of data without a test set).</summary>
    public string? TestSource { get; init; }
    /// <summary>Test confusion matrix, rows true class, columns predicted class; null without a test set.</summary>
    public int[][]? ConfusionMatrix { get; init; }
    /// <summary>Class names in label order.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = Array.Empty<string>();
    /// <summary>Exact MACs of the network in millions (docs/design.md §2 convention).</summary>
    public double FlopsM { get; init; }
    /// <summary>Parameters in millions.</summary>
    public double ParamsM { get; init; }
    /// <summary>Epochs trained.</summary>
    public int Epochs { get; init; }
    /// <summary>Epoch of best.pt.</summary>
    public int BestEpoch { get; init; }
    /// <summary>Validation top-1 of best.pt, or null without validation.</summary>
    public double? BestValidationTop1 { get; init; }
    /// <summary>Wall seconds of training and validation (summed over resumed sessions), without the final test.</summary>
    public double Seconds { get; init; }
    /// <summary>Training throughput: images / seconds of training steps.</summary>
    public double ImagesPerSecondTrain { get; init; }
    /// <summary>Options of the run.</summary>
    public required RetrainOptions Options { get; init; }
    /// <summary>Input normalisation mean per channel.</summary>
    public required float[] NormalizationMean { get; init; }
    /// <summary>Input normalisation std per channel.</summary>
    public required float[] NormalizationStd { get; init; }
    /// <summary>Per-epoch metrics.</summary>
    public List<RetrainEpochRecord> History { get; init; } = new();
}

/// <summary>JSON settings of the retraining files: camelCase, indented, enums as names, NaN allowed.</summary>
public static class RetrainJson
{
    /// <summary>The serializer options used for state.json and metrics.json.</summary>
    public static JsonSerializerOptions Options { get; } = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };
}
