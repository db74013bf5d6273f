namespace Sgnas.Training;

/// <summary>
/// One progress report of a long-running stage, sent through <see cref="IProgress{T}"/> (CLI progress bar,
/// ML.NET Fit callbacks). <see cref="Metrics"/> carries named values such as loss and top-1.
/// </summary>
/// <param name="Stage">Stage name, e.g. "supernet", "generator", "retrain", "evolution".</param>
/// <param name="Epoch">1-based epoch (or iteration) being run.</param>
/// <param name="Epochs">Total epochs (or iterations).</param>
/// <param name="Step">1-based step within the epoch.</param>
/// <param name="Steps">Steps per epoch.</param>
/// <param name="Metrics">Running metrics by name.</param>
/// <param name="EpochDone">True on the report that closes an epoch (metrics are the epoch's).</param>
public sealed record TrainingProgress(string Stage, int Epoch, int Epochs, int Step, int Steps,
    IReadOnlyDictionary<string, double> Metrics, bool EpochDone = false)
{
    /// <summary>Overall completion in [0, 1].</summary>
    public double Fraction => Epochs <= 0 || Steps <= 0 ? 0 : ((Epoch - 1) + (double)Step / Steps) / Epochs;
}
