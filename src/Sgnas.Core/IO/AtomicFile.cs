using TorchSharp;

namespace Sgnas.IO;

/// <summary>
/// Writes files so that a reader sees either the old content or the new, never a torn file: write to a temporary
/// sibling, flush to disk, then rename over the target (atomic on POSIX within one folder).
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="write"/>'s output to <paramref name="path"/> atomically.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        string tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { if (File.Exists(tmp)) File.Delete(tmp); } catch (IOException) { }
            throw;
        }
    }

    /// <summary>
    /// Deletes the temporary siblings <c>.NAME.*.tmp</c> that <see cref="Write"/> leaves when its process is killed,
    /// for each file name in <paramref name="names"/>. Call it only as the folder's single writer.
    /// </summary>
    public static void DeleteTemps(string directory, IEnumerable<string> names)
    {
        if (!Directory.Exists(directory)) return;
        foreach (var name in names)
            foreach (var tmp in Directory.EnumerateFiles(directory, $".{name}.*.tmp"))
                try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Deletes every temporary file <c>.*.PID.GUID.tmp</c> in <paramref name="directory"/> whose writing process
    /// (PID) is no longer running: leftovers of a crash. Returns how many were deleted.
    /// </summary>
    public static int DeleteStaleTemps(string directory)
    {
        if (!Directory.Exists(directory)) return 0;
        int deleted = 0;
        foreach (var tmp in Directory.EnumerateFiles(directory, ".*.tmp"))
        {
            var parts = Path.GetFileName(tmp).Split('.');
            // ".NAME.PID.GUID.tmp" splits into ["", NAME..., PID, GUID, "tmp"].
            if (parts.Length < 5 || !int.TryParse(parts[^3], out int pid) || IsRunning(pid)) continue;
            try { File.Delete(tmp); deleted++; } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return deleted;
    }

    private static bool IsRunning(int pid)
    {
        if (pid == Environment.ProcessId) return true;
        try
        {
            using var p = System.Diagnostics.Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException) { return false; } // no such process
        catch (InvalidOperationException) { return false; }
    }

    /// <summary>Writes bytes atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes) => Write(path, s => s.Write(bytes));

    /// <summary>Writes UTF-8 text atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s => { using var w = new StreamWriter(s, leaveOpen: true); w.Write(text); });

    /// <summary>Saves a TorchSharp module's state dict atomically.</summary>
    /// <remarks>
    /// <c>Module.save(Stream)</c> closes the stream it writes to, so the state dict is written to memory first and
    /// the bytes then go through <see cref="Write"/>, which needs its stream open to flush it to disk.
    /// </remarks>
    public static void SaveModule(string path, torch.nn.Module module) => WriteAllBytes(path, ModuleBytes(module));

    /// <summary>A module's state dict as the bytes <see cref="SaveModule"/> writes (for a <see cref="CheckpointSet"/>).</summary>
    public static byte[] ModuleBytes(torch.nn.Module module)
    {
        var buffer = new MemoryStream();
        module.save(buffer);
        return buffer.ToArray(); // valid even after the stream was closed
    }

    /// <summary>The bytes written by <paramref name="write"/> (for a <see cref="CheckpointSet"/>).</summary>
    public static byte[] Bytes(Action<Stream> write)
    {
        var buffer = new MemoryStream();
        write(buffer);
        return buffer.ToArray();
    }

    /// <summary>
    /// Loads a state dict saved by <see cref="SaveModule"/>, turning a missing or corrupt file into a message that
    /// names it.
    /// </summary>
    public static void LoadModule(string path, torch.nn.Module module)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Weights file not found: {path}", path);
        try
        {
            using var fs = File.OpenRead(path);
            module.load(fs, strict: true);
        }
        catch (Exception e) when (e is not FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: not a readable weights file for {module.GetName()} ({e.Message}).", e);
        }
    }
}
