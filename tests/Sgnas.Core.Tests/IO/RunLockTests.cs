using Sgnas.IO;

namespace Sgnas.Core.Tests.IO;

/// <summary>Issue 13 cases 4 and 6: one writer per folder; no compute before a certain failure.</summary>
public sealed class RunLockTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "sgnas-lock-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public void ASecondHandleIsRefusedWithTheHoldersPidUntilTheFirstIsReleased()
    {
        var first = RunLock.Acquire(_root, "train-supernet");
        var e = Assert.Throws<RunFolderBusyException>(() => RunLock.Acquire(_root, "train-supernet"));
        Assert.Contains($"in use by process {Environment.ProcessId} (train-supernet)", e.Message);
        Assert.Contains(_root, e.Message);
        first.Dispose();
        using var second = RunLock.Acquire(_root, "compare");
        Assert.Equal(Path.GetFullPath(_root), second.Folder);
    }

    [Fact]
    public void PreflightRefusesAnUnwritableFolderOrTooLittleSpace()
    {
        Directory.CreateDirectory(_root);
        string file = Path.Combine(_root, "a-file");
        File.WriteAllText(file, "");
        var w = Assert.Throws<UnauthorizedAccessException>(() => RunPreflight.Check(Path.Combine(file, "run")));
        Assert.Contains("is not writable", w.Message);

        var s = Assert.Throws<IOException>(() => RunPreflight.Check(_root, long.MaxValue / 4));
        Assert.Contains("free", s.Message);
        Assert.Contains(_root, s.Message);
        RunPreflight.Check(_root); // a normal folder passes
        Assert.Equal(new[] { "a-file" }, Directory.GetFiles(_root).Select(Path.GetFileName)); // the probe is gone
    }
}
