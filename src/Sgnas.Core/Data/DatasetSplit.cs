namespace Sgnas.Data;

/// <summary>Which published split of a dataset to read (IDX: <c>train-</c> / <c>t10k-</c> files; CIFAR: train / test batches).</summary>
public enum DatasetSplit
{
    /// <summary>The training split.</summary>
    Train,

    /// <summary>The test split.</summary>
    Test,
}
