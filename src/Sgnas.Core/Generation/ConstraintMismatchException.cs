namespace Sgnas.Generation;

/// <summary>
/// A generator was asked for budgets of a kind it was not trained for (FLOPs vs latency), or against another latency
/// table than its own (docs/latency.md). The message says what the run folder holds and what to do.
/// </summary>
public sealed class ConstraintMismatchException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    public ConstraintMismatchException(string message) : base(message) { }
}
