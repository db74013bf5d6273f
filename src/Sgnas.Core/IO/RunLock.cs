using System.Globalization;

namespace Sgnas.IO;

/// <summary>
/// One writer per run folder: an exclusive OS lock on <c>DIR/.sgnas.lock</c>, held for the life of the writing
/// command. The lock is a <see cref="FileStream"/> opened with <see cref="FileShare.None"/> (an exclusive
/// <c>flock</c> on Linux and macOS, a share-mode lock on Windows), so the OS releases it when the process dies,
/// even by <c>kill -9</c>: a stale lock file never blocks a later run. The holder's process id is written into the
/// lock file and, because a locked file cannot be read on every OS, into <c>DIR/.sgnas.lock.pid</c> for the error
/// message of a second writer.
/// </summary>
public sealed class RunLock : IDisposable
{
    /// <summary>Name of the lock file in the folder.</summary>
    public const string FileName = ".sgnas.lock";
    private readonly FileStream _stream;

    private RunLock(string folder, FileStream stream)
    {
        Folder = folder;
        _stream = stream;
    }

    /// <summary>The locked folder.</summary>
    public string Folder { get; }

    /// <summary>
    /// Takes the lock of <paramref name="folder"/> (created if missing) at once, or fails.
    /// </summary>
    /// <param name="folder">The run folder.</param>
    /// <param name="command">What the holder is doing (written beside the PID, e.g. <c>train-supernet</c>).</param>
    /// <exception cref="RunFolderBusyException">Another process holds the lock; the message names its PID.</exception>
    public static RunLock Acquire(string folder, string command)
    {
        string dir = Path.GetFullPath(folder);
        Directory.CreateDirectory(dir);
        // Under MPI only rank 0 writes the folder (docs/distributed.md §2); the other ranks of the same job lock their own file.
        int rank = Distributed.Cluster.LaunchRank;
        string path = Path.Combine(dir, rank == 0 ? FileName : $"{FileName}.rank{rank}"), pidPath = path + ".pid";
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException and not PathTooLongException)
        {
            string holder = "another process";
            try
            {
                var text = File.ReadAllText(pidPath).Trim();
                if (text.Length > 0) holder = $"process {text}";
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
            throw new RunFolderBusyException(dir,
                $"{dir} is in use by {holder} (lock file {path}); wait for it to finish or stop it, or choose another folder.", e);
        }
        string me = $"{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)} ({command})";
        stream.SetLength(0);
        var bytes = System.Text.Encoding.UTF8.GetBytes(me + "\n");
        stream.Write(bytes);
        stream.Flush(flushToDisk: true);
        try { AtomicFile.WriteAllText(pidPath, me + "\n"); }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        // Temporaries of writers that died (kill -9, power loss) are now nobody's: remove them.
        if (rank == 0) AtomicFile.DeleteStaleTemps(dir);
        return new RunLock(dir, stream);
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose()
    {
        try { File.Delete(_stream.Name + ".pid"); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        _stream.Dispose();
    }
}

/// <summary>Another process is writing the run folder.</summary>
public sealed class RunFolderBusyException(string folder, string message, Exception? inner = null) : IOException(message, inner)
{
    /// <summary>The folder.</summary>
    public string Folder { get; } = folder;
}
