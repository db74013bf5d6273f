namespace Sgnas.IO;

/// <summary>
/// Whole-file writes that never leave a partial file behind: content goes to a temporary file in the target's
/// folder (same file system, so the final move is a rename) which then replaces the target.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically.</summary>
    public static void WriteAllBytes(string path, byte[] bytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes));
    }

    /// <summary>
    /// Lets <paramref name="write"/> fill a temporary file, flushes it to disk, then moves it over
    /// <paramref name="path"/>. If <paramref name="write"/> or the move throws, the temporary file is deleted and
    /// an existing file at <paramref name="path"/> keeps its previous content.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">The target folder does not exist.</exception>
    public static void Write(string path, Action<Stream> write)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(write);
        string full = Path.GetFullPath(path);
        string folder = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no parent folder.", nameof(path));
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"Cannot write '{full}': folder '{folder}' does not exist.");

        string temp = Path.Combine(folder, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                write(stream);
                stream.Flush(flushToDisk: true); // the rename must not land before the data does
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    private static void TryDelete(string temp)
    {
        try
        {
            File.Delete(temp);
        }
        catch (IOException)
        {
            // Best effort: the original error is the one worth reporting.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
