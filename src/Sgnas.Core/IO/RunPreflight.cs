namespace Sgnas.IO;

/// <summary>
/// Checks made before a command spends compute: the output folder can be written, and its file system has room for
/// what the command will write. A command that would fail at its first save fails here instead, in a second.
/// </summary>
public static class RunPreflight
{
    /// <summary>Headroom kept free beyond the estimate (logs, reports, the staging copy of a checkpoint).</summary>
    public const long MinimumFreeBytes = 64L << 20;

    /// <summary>
    /// Creates <paramref name="folder"/> if needed, writes and deletes a probe file in it, and checks that at least
    /// <paramref name="neededBytes"/> + <see cref="MinimumFreeBytes"/> are free on its volume.
    /// </summary>
    /// <exception cref="UnauthorizedAccessException">The folder cannot be written; the message names it.</exception>
    /// <exception cref="IOException">Not enough free space; the message gives both numbers.</exception>
    public static void Check(string folder, long neededBytes = 0)
    {
        string dir = Path.GetFullPath(folder);
        string probe = Path.Combine(dir, $".sgnas-write-probe.{Environment.ProcessId}.tmp");
        try
        {
            Directory.CreateDirectory(dir);
            File.WriteAllBytes(probe, [0]);
            File.Delete(probe);
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new UnauthorizedAccessException($"{dir} is not writable ({SupernetCheckpoint.OneLine(e.Message)}); nothing was computed. Choose a writable folder.", e);
        }
        long free;
        try { free = new DriveInfo(dir).AvailableFreeSpace; }
        catch (Exception e) when (e is ArgumentException or IOException or UnauthorizedAccessException) { return; } // unknown: do not block
        long need = Math.Max(0, neededBytes) + MinimumFreeBytes;
        if (free < need)
            throw new IOException($"{dir} has {Mib(free)} free; this command needs about {Mib(need)} for its checkpoints and reports. Free some space or choose another folder.");
    }

    private static string Mib(long bytes) => $"{bytes / (1024.0 * 1024):F0} MiB";
}
