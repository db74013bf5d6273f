using Sgnas.IO;

namespace Sgnas.Core.Tests.IO;

/// <summary>Thrown by the write hook to stand for a kill of the process at a write boundary.</summary>
internal sealed class SimulatedCrash(string step) : Exception($"simulated crash after '{step}'")
{
    public string Step { get; } = step;
}

/// <summary>
/// Runs code with <see cref="CheckpointSet"/>'s write hook: <see cref="Steps"/> lists the write boundaries a run
/// passes; <see cref="CrashAt"/> stops the run at boundary n the way a kill would (no cleanup by the writer: the
/// commit code has no catch blocks, so what was on disk at that step stays).
/// </summary>
internal static class CrashSimulation
{
    /// <summary>The labels of every write boundary <paramref name="run"/> passes.</summary>
    public static List<string> Steps(Action run)
    {
        var labels = new List<string>();
        using (CheckpointSet.InjectWriteHook(labels.Add)) run();
        return labels;
    }

    /// <summary>Runs <paramref name="run"/> and crashes it after write boundary <paramref name="n"/> (0-based); returns the boundary's label.</summary>
    public static string CrashAt(int n, Action run)
    {
        int seen = 0;
        using (CheckpointSet.InjectWriteHook(label => { if (seen++ == n) throw new SimulatedCrash(label); }))
        {
            var crash = Assert.Throws<SimulatedCrash>(run);
            return crash.Step;
        }
    }

    /// <summary>Files of a folder tree (relative paths) that a finished writer must not leave: temporaries and staging folders.</summary>
    public static string[] Leftovers(string root) =>
        Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p))
            .Where(p => p.EndsWith(".tmp", StringComparison.Ordinal) || p.Split(Path.DirectorySeparatorChar).Any(s => s.EndsWith(".staging", StringComparison.Ordinal)))
            .ToArray();
}
