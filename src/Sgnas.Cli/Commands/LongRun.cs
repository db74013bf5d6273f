using Sgnas.IO;

namespace Sgnas.Cli.Commands;

/// <summary>
/// What every long command (train-supernet, train-generator, retrain, search, compare, demo, experiment, bench,
/// latency-table) shares: the run folder's lock (one writer per folder), the checks before compute (writable, free
/// space), and Ctrl-C. The first Ctrl-C cancels <see cref="Token"/>, so the command stops between steps and keeps what
/// it finished; a second Ctrl-C ends the process at once. <see cref="CliApp"/> turns the cancellation into exit code
/// 130 and prints <see cref="Kept"/> (how to resume) on one line. A command whose work takes no token
/// (<see cref="Listen"/> with <c>cancellable: false</c>) prints the line and exits with 130 at the first Ctrl-C.
/// </summary>
public sealed class LongRun : IDisposable
{
    /// <summary>Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).</summary>
    public const int CancelledExitCode = 130;

    private static LongRun? s_current;
    private readonly CancellationTokenSource _cts = new();
    private readonly RunLock? _lock;
    private readonly ConsoleCancelEventHandler _onCancel;

    private LongRun(RunLock? runLock, string command, bool cancellable)
    {
        _lock = runLock;
        _onCancel = (_, e) =>
        {
            if (_cts.IsCancellationRequested) return; // second Ctrl-C: let the runtime end the process
            e.Cancel = true;
            if (!cancellable)
            {
                Console.Error.WriteLine($"\nsgnas {command}: cancelled; {Kept}");
                Environment.Exit(CancelledExitCode);
            }
            Console.Error.WriteLine("\nstopping after the current step (Ctrl-C again to stop at once)...");
            _cts.Cancel();
        };
        Console.CancelKeyPress += _onCancel;
    }

    /// <summary>Cancelled by Ctrl-C.</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>What a cancelled command leaves behind, printed after "cancelled;".</summary>
    public string Kept { get; set; } = "nothing was written.";

    /// <summary>What the command running in this process keeps if cancelled now (null when none is running).</summary>
    public static string? CurrentKept => s_current?.Kept;

    /// <summary>
    /// Locks <paramref name="folder"/> (created if needed) for <paramref name="command"/> after checking it is writable
    /// with <paramref name="neededBytes"/> free, and starts listening for Ctrl-C.
    /// </summary>
    /// <exception cref="RunFolderBusyException">Another process writes the folder; the message names its PID.</exception>
    public static LongRun Start(string command, string folder, long neededBytes = 0)
    {
        RunPreflight.Check(folder, neededBytes);
        var run = new LongRun(RunLock.Acquire(folder, command), command, cancellable: true);
        s_current = run;
        return run;
    }

    /// <summary>
    /// Listens for Ctrl-C without a run folder (commands that write no checkpoint). With
    /// <paramref name="cancellable"/> false the work cannot stop between steps, so the first Ctrl-C ends the process
    /// with <see cref="CancelledExitCode"/> after printing <see cref="Kept"/>.
    /// </summary>
    public static LongRun Listen(string command, bool cancellable = true)
    {
        var run = new LongRun(null, command, cancellable);
        s_current = run;
        return run;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Console.CancelKeyPress -= _onCancel;
        _lock?.Dispose();
        _cts.Dispose();
        // Kept stays readable for Program's message after the command unwinds.
    }
}
