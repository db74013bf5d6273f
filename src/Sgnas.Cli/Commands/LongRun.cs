using Sgnas.IO;

namespace Sgnas.Cli.Commands;

/// <summary>
/// What every long command (train-supernet, train-generator, retrain, search, compare, demo) shares: the run folder's
/// lock (one writer per folder), the checks before compute (writable, free space), and Ctrl-C. The first Ctrl-C
/// cancels <see cref="Token"/>, so the command stops between steps and keeps what it finished; a second Ctrl-C ends
/// the process at once. <see cref="Program"/> turns the cancellation into exit code 130 and prints <see cref="Kept"/>.
/// </summary>
public sealed class LongRun : IDisposable
{
    /// <summary>Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).</summary>
    public const int CancelledExitCode = 130;

    private static LongRun? s_current;
    private readonly CancellationTokenSource _cts = new();
    private readonly RunLock? _lock;
    private readonly ConsoleCancelEventHandler _onCancel;

    private LongRun(RunLock? runLock)
    {
        _lock = runLock;
        _onCancel = (_, e) =>
        {
            if (_cts.IsCancellationRequested) return; // second Ctrl-C: let the runtime end the process
            e.Cancel = true;
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
        var run = new LongRun(RunLock.Acquire(folder, command));
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
