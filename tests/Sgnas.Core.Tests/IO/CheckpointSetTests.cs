using System.Text;
using Sgnas.IO;

namespace Sgnas.Core.Tests.IO;

public sealed class CheckpointSetTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sgnas-ckpt-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static CheckpointFile[] Files(string tag) =>
    [
        new("a.bin", Encoding.UTF8.GetBytes($"a of {tag}")),
        new("b.bin", Encoding.UTF8.GetBytes($"b of {tag} (longer)")),
        new("state.json", Encoding.UTF8.GetBytes($"{{\"tag\":\"{tag}\"}}")),
    ];

    private static void AssertHolds(string dir, string tag)
    {
        foreach (var f in Files(tag))
            Assert.Equal(f.Content, File.ReadAllBytes(Path.Combine(dir, f.Name)));
    }

    [Fact]
    public void ACrashAtEveryWriteBoundaryLeavesExactlyTheOldOrTheNewCheckpoint()
    {
        string probe = Path.Combine(_root, "probe");
        new CheckpointSet(probe, "x").Commit("old", Files("old"));
        var steps = CrashSimulation.Steps(() => new CheckpointSet(probe, "x").Commit("new", Files("new")));
        // 3 files × (created, staged) + manifest (written, committed) + 3 renames + manifest rename + staging removed.
        Assert.Equal(13, steps.Count);

        bool sawOld = false, sawNew = false;
        for (int n = 0; n < steps.Count; n++)
        {
            string dir = Path.Combine(_root, $"crash{n}");
            new CheckpointSet(dir, "x").Commit("old", Files("old"));
            string step = CrashSimulation.CrashAt(n, () => new CheckpointSet(dir, "x").Commit("new", Files("new")));

            // A reader in a new process: recover, verify, and find one whole checkpoint.
            var manifest = new CheckpointSet(dir, "x").Verify();
            Assert.NotNull(manifest);
            AssertHolds(dir, manifest!.Label);
            if (manifest.Label == "old") sawOld = true; else sawNew = true;
            // Before the staging manifest is committed the new checkpoint is incomplete, so the old one must remain.
            Assert.Equal(n < 7 ? "old" : "new", manifest.Label);
            Assert.Empty(CrashSimulation.Leftovers(dir));
            _ = step;

            // The next save after the crash works and replaces it.
            new CheckpointSet(dir, "x").Commit("third", Files("third"));
            AssertHolds(dir, "third");
        }
        Assert.True(sawOld && sawNew);
    }

    [Fact]
    public void KeptFilesStayAndAreVerifiedWithTheirHash()
    {
        var set = new CheckpointSet(_root, "k");
        set.Commit("1", Files("one"));
        set.Commit("2", [new CheckpointFile("a.bin", Encoding.UTF8.GetBytes("a2"))], keep: ["b.bin", "state.json"]);
        var m = set.Verify()!;
        Assert.Equal(new[] { "b.bin", "state.json", "a.bin" }, m.Files.Select(f => f.Name));
        Assert.Equal("b of one (longer)", File.ReadAllText(Path.Combine(_root, "b.bin")));

        // A kept file changed behind the manifest's back is not silently adopted.
        File.WriteAllText(Path.Combine(_root, "b.bin"), "tampered");
        var e = Assert.Throws<InvalidDataException>(() => set.Commit("3", [new CheckpointFile("a.bin", [1])], keep: ["b.bin"]));
        Assert.Contains("b.bin does not match", e.Message);
    }

    [Fact]
    public void AMissingOrChangedFileIsRefusedByName()
    {
        var set = new CheckpointSet(_root, "m");
        set.Commit("epoch 4", Files("m"));
        File.Delete(Path.Combine(_root, "b.bin"));
        var missing = Assert.Throws<InvalidDataException>(() => set.Verify());
        Assert.Contains("b.bin is missing", missing.Message);
        Assert.Contains("epoch 4", missing.Message);

        File.WriteAllText(Path.Combine(_root, "b.bin"), "other");
        var changed = Assert.Throws<InvalidDataException>(() => set.Verify());
        Assert.Contains("b.bin does not match", changed.Message);
        Assert.Contains("m.manifest.json", changed.Message);

        File.WriteAllText(set.ManifestPath, "{ not json");
        Assert.Contains("corrupt checkpoint manifest", Assert.Throws<InvalidDataException>(() => set.Verify()).Message);
    }

    [Fact]
    public void StaleTemporariesOfDeadWritersAreRemoved()
    {
        Directory.CreateDirectory(_root);
        // No process has PID int.MaxValue - 1 (Linux caps PIDs at 2^22); the name is what AtomicFile.Write uses.
        string dead = Path.Combine(_root, $".last.optim.pt.{int.MaxValue - 1}.{Guid.NewGuid():N}.tmp");
        string live = Path.Combine(_root, $".last.pt.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(dead, []);
        File.WriteAllBytes(live, []);
        Assert.Equal(1, AtomicFile.DeleteStaleTemps(_root));
        Assert.False(File.Exists(dead));
        Assert.True(File.Exists(live));
        // A commit cleans the temporaries of its own files whoever left them (it is the folder's single writer).
        new CheckpointSet(_root, "t").Commit("1", [new CheckpointFile("last.pt", [1, 2])]);
        Assert.False(File.Exists(live));
    }
}
