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
    public static void SaveModule(string path, torch.nn.Module module)
    {
        var buffer = new MemoryStream();
        module.save(buffer);
        byte[] bytes = buffer.ToArray(); // valid even after the stream was closed
        Write(path, s => s.Write(bytes));
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
