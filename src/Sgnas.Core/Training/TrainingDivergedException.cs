namespace Sgnas.Training;

/// <summary>
/// A training loss became NaN or infinite. The checkpoint on disk is the last completed epoch's; the message names
/// the stage, epoch, step (and learning rate when known) so the run can be restarted with a lower rate.
/// </summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception for a non-finite loss at (epoch, step) of <paramref name="stage"/>.</summary>
    public TrainingDivergedException(string stage, int epoch, int step, double loss, double? learningRate = null, string? detail = null)
        : base($"{stage} training diverged: loss is {loss} at epoch {epoch}, step {step}" +
               (learningRate is { } lr ? $" (learning rate {lr:G4})" : "") + (detail is null ? "" : $" ({detail})") +
               ". The checkpoint of the last completed epoch is kept; lower the learning rate (--lr) and resume or train again.")
    {
        Epoch = epoch; Step = step; Loss = loss; LearningRate = learningRate;
    }

    /// <summary>1-based epoch of the failing step.</summary>
    public int Epoch { get; }
    /// <summary>1-based step within the epoch.</summary>
    public int Step { get; }
    /// <summary>The non-finite loss value.</summary>
    public double Loss { get; }
    /// <summary>Learning rate of the failing step, when the stage has one schedule.</summary>
    public double? LearningRate { get; }
}
