namespace Sgnas.Search;

/// <summary>
/// A tuner that can say how many proposals it can make before it needs their scores. Data-parallel search
/// (docs/distributed.md §5) proposes that many at once, scores them on all ranks together, then updates the tuner
/// in proposal order: the trials, their order and the result are those of the one-at-a-time loop.
/// </summary>
public interface IParallelProposals
{
    /// <summary>Proposals possible now without further <see cref="IArchitectureTuner.Update"/> calls (0 = waiting for scores).</summary>
    int ProposableNow { get; }
}
