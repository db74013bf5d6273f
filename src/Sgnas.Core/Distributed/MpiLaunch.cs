using System.Globalization;

namespace Sgnas.Distributed;

/// <summary>
/// Where this process sits in a job started by an MPI launcher (<c>mpirun</c>, <c>srun --mpi=pmix</c>), read from the
/// environment the launcher sets, without loading any MPI library. A process started without a launcher has no
/// launch (<see cref="Detect()"/> returns null) and never loads <c>libmpi</c>; the same command line therefore runs
/// alone or under <c>mpirun -np N</c> (docs/distributed.md §1).
/// </summary>
/// <param name="Rank">Rank in the job, 0..Size−1.</param>
/// <param name="Size">Processes in the job.</param>
/// <param name="LocalRank">Rank among the processes on this machine (picks the GPU).</param>
/// <param name="LocalSize">Processes on this machine (divides the CPU cores).</param>
/// <param name="Source">Which variables were read (for messages).</param>
public sealed record MpiLaunch(int Rank, int Size, int LocalRank, int LocalSize, string Source)
{
    /// <summary>Variable set by the user to stop MPI detection (<c>SGNAS_MPI=0</c>), e.g. to run one serial tool inside an MPI job.</summary>
    public const string DisableVariable = "SGNAS_MPI";

    /// <summary>The launch described by the current environment, or null when the process was not started by an MPI launcher.</summary>
    public static MpiLaunch? Detect() => Detect(Environment.GetEnvironmentVariable);

    /// <summary>The launch described by <paramref name="env"/> (a variable lookup), or null when there is none.</summary>
    /// <remarks>
    /// Open MPI's <c>mpirun</c> sets <c>OMPI_COMM_WORLD_RANK</c>, <c>_SIZE</c>, <c>_LOCAL_RANK</c> and <c>_LOCAL_SIZE</c>;
    /// a PMIx launch (Slurm <c>srun --mpi=pmix</c>) sets <c>PMIX_RANK</c> with Slurm's <c>SLURM_NTASKS</c>,
    /// <c>SLURM_LOCALID</c> and <c>SLURM_NTASKS_PER_NODE</c>. A size of 1 is still a launch (an MPI job of one).
    /// </remarks>
    /// <exception cref="InvalidOperationException">The variables are present but inconsistent.</exception>
    public static MpiLaunch? Detect(Func<string, string?> env)
    {
        ArgumentNullException.ThrowIfNull(env);
        if (env(DisableVariable) is "0" or "off" or "false") return null;
        if (env("OMPI_COMM_WORLD_SIZE") is { } ompiSize)
        {
            int size = Parse(env, "OMPI_COMM_WORLD_SIZE", ompiSize);
            int rank = Parse(env, "OMPI_COMM_WORLD_RANK", env("OMPI_COMM_WORLD_RANK"));
            int localRank = env("OMPI_COMM_WORLD_LOCAL_RANK") is { } lr ? Parse(env, "OMPI_COMM_WORLD_LOCAL_RANK", lr) : rank;
            int localSize = env("OMPI_COMM_WORLD_LOCAL_SIZE") is { } ls ? Parse(env, "OMPI_COMM_WORLD_LOCAL_SIZE", ls) : size;
            return Checked(rank, size, localRank, localSize, "OMPI_COMM_WORLD_*");
        }
        if (env("PMIX_RANK") is { } pmixRank && env("SLURM_NTASKS") is { } tasks)
        {
            int rank = Parse(env, "PMIX_RANK", pmixRank), size = Parse(env, "SLURM_NTASKS", tasks);
            int localRank = env("SLURM_LOCALID") is { } lr ? Parse(env, "SLURM_LOCALID", lr) : 0;
            // SLURM_NTASKS_PER_NODE may read "4" or "4(x2)"; the count before the parenthesis is this node's.
            int localSize = env("SLURM_NTASKS_PER_NODE") is { } per ? Parse(env, "SLURM_NTASKS_PER_NODE", per.Split('(')[0]) : 1;
            return Checked(rank, size, localRank, Math.Max(localSize, localRank + 1), "PMIX_RANK/SLURM_*");
        }
        return null;
    }

    private static MpiLaunch Checked(int rank, int size, int localRank, int localSize, string source)
    {
        if (size < 1 || rank < 0 || rank >= size || localRank < 0 || localSize < 1 || localRank >= localSize)
            throw new InvalidOperationException(
                $"Inconsistent MPI launch variables ({source}): rank {rank} of {size}, local rank {localRank} of {localSize}.");
        return new MpiLaunch(rank, size, localRank, localSize, source);
    }

    private static int Parse(Func<string, string?> env, string name, string? text)
    {
        if (text is null || !int.TryParse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            throw new InvalidOperationException($"MPI launch variable {name} is '{text ?? "(missing)"}'; expected an integer.");
        return v;
    }
}
