namespace Sgnas.Distributed;

/// <summary>
/// The job this process belongs to. <see cref="World"/> is a <see cref="SingleProcessCommunicator"/> unless the process
/// was started by an MPI launcher (<see cref="MpiLaunch.Detect()"/>); only then is Open MPI loaded and initialised,
/// on first use. Under MPI the process also: finalises MPI at a clean exit; aborts the whole job
/// (<c>MPI_Abort</c>) when it exits with an error or an unhandled exception, so the other ranks do not wait
/// forever in a collective; and, on ranks other than 0, discards standard output (errors still reach standard
/// error) unless <c>SGNAS_ALL_RANKS_PRINT=1</c>, so a job prints one report. See docs/distributed.md §1.
/// </summary>
public static class Cluster
{
    /// <summary>Set to 1 to keep standard output on every rank.</summary>
    public const string AllRanksPrintVariable = "SGNAS_ALL_RANKS_PRINT";

    private static readonly object s_gate = new();
    private static ICommunicator? s_world;
    private static ICommunicator? s_override;
    private static bool s_launchRead;
    private static MpiLaunch? s_launch;

    /// <summary>The launch this process was started by, or null when it runs alone (read once, without loading MPI).</summary>
    public static MpiLaunch? Launch
    {
        get
        {
            lock (s_gate)
            {
                if (!s_launchRead) { s_launch = MpiLaunch.Detect(); s_launchRead = true; }
                return s_launch;
            }
        }
    }

    /// <summary>Rank of this process without initialising MPI (0 when alone).</summary>
    public static int LaunchRank => s_override?.Rank ?? Launch?.Rank ?? 0;

    /// <summary>The communicator of this job (initialises MPI on first use under a launcher).</summary>
    public static ICommunicator World
    {
        get
        {
            if (s_override is { } o) return o;
            lock (s_gate)
            {
                if (s_world is not null) return s_world;
                var launch = Launch;
                if (launch is null) return s_world = SingleProcessCommunicator.Instance;
                var mpi = MpiCommunicator.Initialize(launch);
                AppDomain.CurrentDomain.ProcessExit += (_, _) => End(mpi);
                AppDomain.CurrentDomain.UnhandledException += (_, e) =>
                {
                    Console.Error.WriteLine($"rank {mpi.Rank}: unhandled {e.ExceptionObject.GetType().Name}; aborting the MPI job.");
                    mpi.Abort(1);
                };
                if (mpi.Rank != 0 && Environment.GetEnvironmentVariable(AllRanksPrintVariable) != "1")
                    Console.SetOut(TextWriter.Null);
                return s_world = mpi;
            }
        }
    }

    /// <summary>True when the job has more than one process (initialises MPI under a launcher).</summary>
    public static bool IsDistributed => World.Size > 1;

    /// <summary>
    /// Uses <paramref name="communicator"/> as <see cref="World"/> until the returned scope is disposed (tests, and
    /// programs that run several simulated ranks in one process).
    /// </summary>
    public static IDisposable Use(ICommunicator communicator)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        var previous = s_override;
        s_override = communicator;
        return new Restore(() => s_override = previous);
    }

    private static void End(MpiCommunicator mpi)
    {
        if (Environment.GetEnvironmentVariable("SGNAS_MPI_STATS") == "1")
        {
            var (steps, calls, bytes, elapsed) = GradientAllReduce.ProcessTotals;
            var wait = GradientAllReduce.ProcessWait;
            Console.Error.WriteLine(System.FormattableString.Invariant(
                $"sgnas-mpi rank {mpi.Rank}/{mpi.Size}: {steps} reduced steps, {calls} all-reduce calls, {bytes / 1e6:F3} MB, {elapsed.TotalSeconds:F3} s in gradient all-reduce ({wait.TotalSeconds:F3} s waiting for the slowest rank, {(elapsed - wait).TotalSeconds:F3} s reducing)"));
        }
        // A failing rank must not enter MPI_Finalize (collective): the others may be blocked in an all-reduce.
        if (Environment.ExitCode != 0)
        {
            Console.Error.WriteLine($"rank {mpi.Rank}: exiting with code {Environment.ExitCode}; aborting the MPI job so the other ranks stop too.");
            mpi.Abort(Environment.ExitCode);
        }
        mpi.Dispose();
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? _undo = undo;
        public void Dispose() { _undo?.Invoke(); _undo = null; }
    }
}
