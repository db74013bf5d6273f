namespace Sgnas.Training;

/// <summary>
/// The training loss became NaN or infinite. The last checkpoint written before the failing epoch is kept; the
/// message names the step and learning rate so the run can be restarted with a lower rate.
/// </summary>
public sealed class TrainingDivergedException : InvalidOperationException
{
    /// <summary>Creates the exception for <paramref name="stage"/> at the given position.</summary>
    public TrainingDivergedException(string stage, int epoch, int step, double learningRate, double loss)
        : base($"{stage}: the training loss is {loss} at epoch {epoch}, step {step} (learning rate {learningRate:G4}); training diverged. " +
               "Lower the learning rate (--lr) or raise the warm-up, then resume from the last checkpoint or start again.")
    {
        Epoch = epoch; Step = step; LearningRate = learningRate; Loss = loss;
    }

    /// <summary>1-based epoch of the failing step.</summary>
    public int Epoch { get; }
    /// <summary>1-based step within the epoch.</summary>
    public int Step { get; }
    /// <summary>Learning rate of the failing step.</summary>
    public double LearningRate { get; }
    /// <summary>The non-finite loss value.</summary>
    public double Loss { get; }
}
