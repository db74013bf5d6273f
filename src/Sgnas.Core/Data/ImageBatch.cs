using static TorchSharp.torch;

namespace Sgnas.Data;

/// <summary>
/// One mini-batch: images [N, C, H, W] float32 and labels [N] int64. The batch owns both tensors; dispose it
/// when the step is done (they are also moved to the caller's dispose scope, if one is open).
/// </summary>
public sealed class ImageBatch : IDisposable
{
    internal ImageBatch(Tensor images, Tensor labels, int[] indices)
    {
        Images = images;
        Labels = labels;
        Indices = indices;
    }

    /// <summary>Normalized images, shape [N, C, H, W], float32.</summary>
    public Tensor Images { get; }

    /// <summary>Class indices, shape [N], int64.</summary>
    public Tensor Labels { get; }

    /// <summary>Positions of these images in the source <see cref="ImageDataset"/>.</summary>
    public int[] Indices { get; }

    /// <summary>Number of images in the batch.</summary>
    public int Count => Indices.Length;

    /// <inheritdoc />
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
