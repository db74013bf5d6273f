namespace Sgnas.Training;

/// <summary>
/// Cosine learning-rate decay without restarts (SGDR, Loshchilov and Hutter 2017), applied per optimizer step as in
/// the SGNAS supernet recipe (docs/design.md §5: "lr 0.045 cosine"):
/// lr(t) = lr_min + (lr_0 − lr_min) · (1 + cos(π · t / T)) / 2, for step t = 0..T−1 of T steps in all epochs.
/// </summary>
public static class CosineSchedule
{
    /// <summary>The learning rate of global step <paramref name="step"/> out of <paramref name="totalSteps"/>.</summary>
    /// <param name="baseRate">lr_0, the rate at step 0.</param>
    /// <param name="step">0-based global step (epoch · steps per epoch + step in epoch).</param>
    /// <param name="totalSteps">T, steps over the whole run.</param>
    /// <param name="minRate">lr_min, the rate approached at the end (0 in the reference recipe).</param>
    public static double Rate(double baseRate, long step, long totalSteps, double minRate = 0.0)
    {
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "total steps must be positive.");
        if (step < 0 || step >= totalSteps) throw new ArgumentOutOfRangeException(nameof(step), step, $"step must lie in [0, {totalSteps}).");
        return minRate + (baseRate - minRate) * 0.5 * (1.0 + Math.Cos(Math.PI * step / totalSteps));
    }
}
