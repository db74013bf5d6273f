namespace Sgnas.MLNet.Data;

/// <summary>Shape of one image in a <c>Features</c> vector: Channels × Height × Width, CHW order.</summary>
/// <param name="Channels">Channels (1 gray, 3 RGB).</param>
/// <param name="Height">Height in pixels.</param>
/// <param name="Width">Width in pixels.</param>
public readonly record struct ImageShape(int Channels, int Height, int Width)
{
    /// <summary>Length of the feature vector: Channels × Height × Width.</summary>
    public int Size => Channels * Height * Width;

    /// <inheritdoc />
    public override string ToString() => $"{Channels}×{Height}×{Width}";
}
