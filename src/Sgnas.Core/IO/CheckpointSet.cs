using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sgnas.IO;

/// <summary>One file of a checkpoint as listed in its manifest.</summary>
/// <param name="Name">File name inside the checkpoint's folder (no directory part).</param>
/// <param name="Sha256">Lower-case hex SHA-256 of the content.</param>
/// <param name="Bytes">Length in bytes.</param>
public sealed record CheckpointManifestEntry(string Name, string Sha256, long Bytes);

/// <summary>
/// The manifest of a complete checkpoint: every file of the set with its SHA-256, written last.
/// </summary>
/// <param name="FormatVersion">Format version of the manifest (1).</param>
/// <param name="Set">Name of the set (e.g. <c>supernet</c>).</param>
/// <param name="Label">What the checkpoint holds, e.g. <c>epoch 3</c>.</param>
/// <param name="Files">The files of the set.</param>
public sealed record CheckpointManifest(int FormatVersion, string Set, string Label, IReadOnlyList<CheckpointManifestEntry> Files);

/// <summary>A file to write as part of a checkpoint: its name in the folder and its whole content.</summary>
/// <param name="Name">File name (no directory part).</param>
/// <param name="Content">The bytes.</param>
public sealed record CheckpointFile(string Name, byte[] Content);

/// <summary>
/// A group of files in one folder that is saved and loaded as one unit (the checkpoints of all three stages: supernet,
/// generator, retraining; see docs/reliability.md).
/// <para>Saving (<see cref="Commit"/>):</para>
/// <list type="number">
/// <item>the new files are written and flushed into the staging folder <c>.NAME.staging/</c> beside the live files;</item>
/// <item>the staging manifest (SHA-256 of every file of the set) is written last, atomically: from this moment the new
/// checkpoint is complete;</item>
/// <item>the staged files are renamed over the live ones, then the manifest is renamed to <c>NAME.manifest.json</c>;</item>
/// <item>the staging folder is removed.</item>
/// </list>
/// Before step 2 the previous checkpoint is untouched; after it the new one is complete in the staging folder. A crash
/// at any point therefore leaves one complete checkpoint, and <see cref="Recover"/> (run by every reader and writer
/// first) either discards an incomplete staging folder or finishes the renames of a complete one. Readers then check
/// every file against the manifest, so a mix of two checkpoints is never loaded: a mismatch or a missing file is
/// refused with a message naming the file.
/// </summary>
public sealed class CheckpointSet
{
    private const string StagedManifestName = "manifest.json";
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };

    // Test hook: called at every write boundary of a commit with a label of the step just done; a test throws from it
    // to simulate a kill at that point. AsyncLocal keeps it local to the test that sets it (xUnit runs classes in parallel).
    private static readonly AsyncLocal<Action<string>?> Hook = new();

    /// <summary>A set named <paramref name="name"/> in <paramref name="directory"/>.</summary>
    public CheckpointSet(string directory, string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        Directory = Path.GetFullPath(directory);
        Name = name;
    }

    /// <summary>The folder holding the live files.</summary>
    public string Directory { get; }

    /// <summary>Name of the set.</summary>
    public string Name { get; }

    /// <summary>Manifest of the live checkpoint: <c>NAME.manifest.json</c>.</summary>
    public string ManifestPath => Path.Combine(Directory, Name + ".manifest.json");

    /// <summary>Staging folder of a save in progress: <c>.NAME.staging</c>.</summary>
    public string StagingPath => Path.Combine(Directory, "." + Name + ".staging");

    /// <summary>
    /// Sets a callback run after every write step of <see cref="Commit"/> (with a label such as
    /// <c>staged supernet.pt</c>) in the current execution flow; throw from it to simulate a crash there. Returns a
    /// handle that removes it.
    /// </summary>
    internal static IDisposable InjectWriteHook(Action<string> hook)
    {
        Hook.Value = hook;
        return new Reset();
    }

    private sealed class Reset : IDisposable
    {
        public void Dispose() => Hook.Value = null;
    }

    private static void Step(string label) => Hook.Value?.Invoke(label);

    /// <summary>
    /// Saves <paramref name="files"/> as the new checkpoint; files named in <paramref name="keep"/> stay as they are
    /// and are listed in the new manifest with their current hash.
    /// </summary>
    /// <exception cref="InvalidDataException">A kept file is missing or does not match the previous manifest.</exception>
    public void Commit(string label, IReadOnlyList<CheckpointFile> files, IEnumerable<string>? keep = null)
    {
        ArgumentNullException.ThrowIfNull(files);
        if (Distributed.Cluster.LaunchRank != 0) return; // under MPI rank 0 alone writes (docs/distributed.md §2)
        var previous = Recover();
        var entries = new List<CheckpointManifestEntry>();
        foreach (var k in keep ?? [])
        {
            if (files.Any(f => f.Name == k)) continue;
            string live = Path.Combine(Directory, k);
            if (!File.Exists(live))
                throw new InvalidDataException($"{live} is missing; checkpoint '{Name}' needs it to keep it unchanged.");
            var old = previous?.Files.FirstOrDefault(e => e.Name == k);
            var entry = Describe(live, k);
            if (old is not null && old.Sha256 != entry.Sha256)
                throw new InvalidDataException(MismatchMessage(live, old.Sha256, entry.Sha256));
            entries.Add(entry);
        }

        System.IO.Directory.CreateDirectory(StagingPath);
        foreach (var f in files)
        {
            string staged = Path.Combine(StagingPath, f.Name);
            using (var fs = new FileStream(staged, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                Step($"created {f.Name}");
                fs.Write(f.Content);
                fs.Flush(flushToDisk: true);
            }
            Step($"staged {f.Name}");
            entries.Add(new CheckpointManifestEntry(f.Name, Convert.ToHexStringLower(SHA256.HashData(f.Content)), f.Content.Length));
        }
        var manifest = new CheckpointManifest(1, Name, label, entries);
        string stagedManifest = Path.Combine(StagingPath, StagedManifestName);
        string tmp = stagedManifest + ".tmp";
        using (var fs = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            JsonSerializer.Serialize(fs, manifest, Json);
            fs.Flush(flushToDisk: true);
        }
        Step("wrote staging manifest");
        File.Move(tmp, stagedManifest, overwrite: true);
        Step("committed staging manifest");
        Publish(manifest);
    }

    /// <summary>
    /// Completes or discards a save that was interrupted, and removes temporary files of the set left by a crash.
    /// Returns the manifest of the live checkpoint, or null if there is none (nothing saved yet, or a folder written
    /// before manifests existed).
    /// </summary>
    /// <exception cref="InvalidDataException">The interrupted save cannot be completed: a file is missing.</exception>
    public CheckpointManifest? Recover()
    {
        // Under MPI only rank 0 completes or discards a save: another rank could catch rank 0's save half-way.
        if (Distributed.Cluster.LaunchRank == 0 && System.IO.Directory.Exists(StagingPath))
        {
            string stagedManifest = Path.Combine(StagingPath, StagedManifestName);
            CheckpointManifest? staged = File.Exists(stagedManifest) ? TryRead(stagedManifest) : null;
            if (staged is not null) Publish(staged);
            else System.IO.Directory.Delete(StagingPath, recursive: true); // incomplete: the previous checkpoint is intact
        }
        return File.Exists(ManifestPath) ? Read(ManifestPath) : null;
    }

    /// <summary>
    /// Recovers (<see cref="Recover"/>), then checks that every file of the live manifest is present and matches its
    /// hash. Returns the manifest, or null when the folder has none.
    /// </summary>
    /// <exception cref="InvalidDataException">A file is missing or differs from the manifest; the message names it.</exception>
    public CheckpointManifest? Verify()
    {
        var manifest = Recover();
        if (manifest is null) return null;
        foreach (var e in manifest.Files)
        {
            string path = Path.Combine(Directory, e.Name);
            if (!File.Exists(path))
                throw new InvalidDataException($"{path} is missing; {ManifestPath} lists it as part of the checkpoint ({manifest.Label}). " +
                                               "Restore the file or train again.");
            string actual = Describe(path, e.Name).Sha256;
            if (actual != e.Sha256) throw new InvalidDataException(MismatchMessage(path, e.Sha256, actual));
        }
        return manifest;
    }

    private void Publish(CheckpointManifest manifest)
    {
        foreach (var e in manifest.Files)
        {
            string staged = Path.Combine(StagingPath, e.Name), live = Path.Combine(Directory, e.Name);
            if (File.Exists(staged))
            {
                File.Move(staged, live, overwrite: true);
                Step($"published {e.Name}");
            }
            else if (!File.Exists(live))
                throw new InvalidDataException(
                    $"Checkpoint '{Name}' ({manifest.Label}) in {Directory} cannot be completed: {e.Name} is in neither {StagingPath} nor the folder.");
        }
        File.Move(Path.Combine(StagingPath, StagedManifestName), ManifestPath, overwrite: true);
        Step("published manifest");
        System.IO.Directory.Delete(StagingPath, recursive: true);
        Step("removed staging folder");
        AtomicFile.DeleteTemps(Directory, manifest.Files.Select(f => f.Name).Append(Path.GetFileName(ManifestPath)));
    }

    private string MismatchMessage(string path, string expected, string actual) =>
        $"{path} does not match {ManifestPath} (SHA-256 {actual[..12]}…, manifest records {expected[..Math.Min(12, expected.Length)]}…): " +
        "the file was modified or replaced after the checkpoint was saved. Restore the folder or train again.";

    private static CheckpointManifestEntry Describe(string path, string name)
    {
        using var fs = File.OpenRead(path);
        return new CheckpointManifestEntry(name, Convert.ToHexStringLower(SHA256.HashData(fs)), fs.Length);
    }

    private static CheckpointManifest? TryRead(string path)
    {
        try { return Read(path); }
        catch (InvalidDataException) { return null; }
    }

    private static CheckpointManifest Read(string path)
    {
        try
        {
            var m = JsonSerializer.Deserialize<CheckpointManifest>(File.ReadAllText(path), Json);
            if (m is null || m.Files is null || m.Files.Any(f => f is null || string.IsNullOrEmpty(f.Name) || string.IsNullOrEmpty(f.Sha256)
                                                               || f.Name.Contains('/') || f.Name.Contains('\\')))
                throw new InvalidDataException($"{path}: not a checkpoint manifest (expected formatVersion, set, label and files with name and sha256).");
            return m;
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{path}: corrupt checkpoint manifest ({e.Message}).", e);
        }
    }
}
