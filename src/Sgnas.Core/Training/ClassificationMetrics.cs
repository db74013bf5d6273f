using static TorchSharp.torch;

namespace Sgnas.Training;

/// <summary>
/// Classification metrics of the retraining stage: top-k hits on a batch, and a confusion matrix with the
/// accuracies derived from it. Rows of a confusion matrix are true classes, columns predicted classes.
/// </summary>
public static class ClassificationMetrics
{
    /// <summary>
    /// Number of rows of <paramref name="logits"/> [N, classes] whose true label (<paramref name="labels"/> [N]) is among
    /// the <paramref name="k"/> highest scores; k is capped at the number of classes.
    /// </summary>
    public static long CorrectTopK(Tensor logits, Tensor labels, int k)
    {
        ArgumentNullException.ThrowIfNull(logits);
        ArgumentNullException.ThrowIfNull(labels);
        if (k <= 0) throw new ArgumentOutOfRangeException(nameof(k), k, "k must be positive.");
        CheckShapes(logits, labels);
        if (logits.shape[0] == 0) return 0;
        using var scope = NewDisposeScope();
        int kk = (int)Math.Min(k, logits.shape[1]);
        var top = logits.topk(kk, dim: 1).indexes;                 // [N, k]
        var hit = top.eq(labels.to_type(ScalarType.Int64).unsqueeze(1)).any(1);
        return hit.sum().item<long>();
    }

    /// <summary>A zeroed <paramref name="classes"/> × <paramref name="classes"/> confusion matrix.</summary>
    public static int[][] NewConfusion(int classes)
    {
        if (classes <= 0) throw new ArgumentOutOfRangeException(nameof(classes), classes, "classes must be positive.");
        return Enumerable.Range(0, classes).Select(_ => new int[classes]).ToArray();
    }

    /// <summary>Adds the argmax predictions of <paramref name="logits"/> against <paramref name="labels"/> to <paramref name="confusion"/>.</summary>
    public static void AddToConfusion(int[][] confusion, Tensor logits, Tensor labels)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        CheckShapes(logits, labels);
        int classes = confusion.Length;
        if (logits.shape[1] != classes)
            throw new ArgumentException($"logits have {logits.shape[1]} classes; the confusion matrix has {classes}.", nameof(logits));
        using var scope = NewDisposeScope();
        var predicted = logits.argmax(1).cpu().data<long>().ToArray();
        var truth = labels.to_type(ScalarType.Int64).cpu().data<long>().ToArray();
        for (int i = 0; i < truth.Length; i++)
        {
            if ((ulong)truth[i] >= (ulong)classes)
                throw new ArgumentException($"label {truth[i]} of row {i} is outside [0, {classes}).", nameof(labels));
            confusion[truth[i]][predicted[i]]++;
        }
    }

    /// <summary>Share of the diagonal: correctly classified / all counted. 0 for an empty matrix.</summary>
    public static double Accuracy(int[][] confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        long total = 0, correct = 0;
        for (int t = 0; t < confusion.Length; t++)
            for (int p = 0; p < confusion[t].Length; p++)
            {
                total += confusion[t][p];
                if (p == t) correct += confusion[t][p];
            }
        return total == 0 ? 0 : (double)correct / total;
    }

    /// <summary>Per-class recall (diagonal / row sum); NaN for a class with no example.</summary>
    public static double[] PerClassRecall(int[][] confusion)
    {
        ArgumentNullException.ThrowIfNull(confusion);
        return confusion.Select((row, t) =>
        {
            long n = row.Sum(v => (long)v);
            return n == 0 ? double.NaN : (double)row[t] / n;
        }).ToArray();
    }

    private static void CheckShapes(Tensor logits, Tensor labels)
    {
        if (logits.dim() != 2) throw new ArgumentException($"logits must be [N, classes]; got [{string.Join(", ", logits.shape)}].", nameof(logits));
        if (labels.dim() != 1 || labels.shape[0] != logits.shape[0])
            throw new ArgumentException($"labels must be [N] with N = {logits.shape[0]}; got [{string.Join(", ", labels.shape)}].", nameof(labels));
    }
}
