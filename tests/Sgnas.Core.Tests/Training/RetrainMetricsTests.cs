using Sgnas.Training;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Training;

/// <summary>Hand-checked top-k and confusion-matrix metrics.</summary>
public class RetrainMetricsTests
{
    // 4 images, 6 classes. Rankings (best first):
    // row 0: 2,0,1,...   label 2 -> top1 hit
    // row 1: 5,4,3,2,1,0 label 0 -> miss top1, miss top5 (rank 6)
    // row 2: 1,3,...     label 3 -> miss top1, top5 hit (rank 2)
    // row 3: 4,...       label 4 -> top1 hit
    private static Tensor Logits() => tensor(new float[]
    {
        5, 4, 9, 0, 1, 2,
        0, 1, 2, 3, 4, 5,
        0, 9, 1, 8, 2, 3,
        1, 2, 3, 4, 9, 0,
    }, new long[] { 4, 6 });

    [Fact]
    public void TopKCountsLabelsAmongTheKBestScores()
    {
        using var logits = Logits();
        using var labels = tensor(new long[] { 2, 0, 3, 4 });
        Assert.Equal(2, ClassificationMetrics.CorrectTopK(logits, labels, 1));
        Assert.Equal(3, ClassificationMetrics.CorrectTopK(logits, labels, 2));
        Assert.Equal(3, ClassificationMetrics.CorrectTopK(logits, labels, 5));
        // k above the class count is capped: every label is in the top 6
        Assert.Equal(4, ClassificationMetrics.CorrectTopK(logits, labels, 10));
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.CorrectTopK(logits, tensor(new long[] { 1, 2 }), 1));
    }

    [Fact]
    public void ConfusionMatrixRowsAreTruthColumnsPredictions()
    {
        using var logits = Logits();
        using var labels = tensor(new long[] { 2, 0, 3, 4 });
        var m = ClassificationMetrics.NewConfusion(6);
        ClassificationMetrics.AddToConfusion(m, logits, labels);
        ClassificationMetrics.AddToConfusion(m, logits, labels);
        Assert.Equal(2, m[2][2]);
        Assert.Equal(2, m[0][5]);
        Assert.Equal(2, m[3][1]);
        Assert.Equal(2, m[4][4]);
        Assert.Equal(8, m.Sum(r => r.Sum()));
        Assert.Equal(0.5, ClassificationMetrics.Accuracy(m), 12);
        var recall = ClassificationMetrics.PerClassRecall(m);
        Assert.Equal(new[] { 0.0, double.NaN, 1.0, 0.0, 1.0, double.NaN }, recall);
        Assert.Throws<ArgumentException>(() => ClassificationMetrics.AddToConfusion(ClassificationMetrics.NewConfusion(5), logits, labels));
        Assert.Equal(0, ClassificationMetrics.Accuracy(ClassificationMetrics.NewConfusion(3)));
    }
}
