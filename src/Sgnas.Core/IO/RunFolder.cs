namespace Sgnas.IO;

/// <summary>
/// Layout of a run folder, shared by every stage and the CLI's <c>--run DIR</c>:
/// <code>
/// DIR/supernet.pt, supernet.json      stage 1 (weights, metadata)
/// DIR/generator.pt, generator.json    stage 2 (generator weights; prior pool, interval, preset, metrics)
/// DIR/generator-training/             stage 2 per-epoch checkpoint (for train-generator --resume)
/// DIR/*.manifest.json                 one per checkpoint set: SHA-256 of each of its files (CheckpointSet)
/// DIR/.sgnas.lock                     held by the process writing the folder (RunLock); holds its PID
/// DIR/search/                         baseline searches and comparisons
/// DIR/retrain/                        stage 3 (checkpoints, metrics.json)
/// DIR/model.onnx, DIR/model.zip       exports
/// </code>
/// </summary>
public sealed class RunFolder
{
    /// <summary>The folder.</summary>
    public string Root { get; }

    /// <summary>Wraps <paramref name="root"/> (created on first write, not here).</summary>
    public RunFolder(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
    }

    public string SupernetWeights => Path.Combine(Root, "supernet.pt");
    public string SupernetMeta => Path.Combine(Root, "supernet.json");
    public string SupernetOptimizer => Path.Combine(Root, "supernet.optim.pt");
    public string GeneratorWeights => Path.Combine(Root, "generator.pt");
    public string GeneratorMeta => Path.Combine(Root, "generator.json");
    public string GeneratorTrainingDir => Path.Combine(Root, "generator-training");
    public string SearchDir => Path.Combine(Root, "search");
    public string RetrainDir => Path.Combine(Root, "retrain");
    public string Onnx => Path.Combine(Root, "model.onnx");
    public string MlNetModel => Path.Combine(Root, "model.zip");

    /// <summary>The folder's lock (<see cref="RunLock"/>).</summary>
    public string LockFile => Path.Combine(Root, RunLock.FileName);

    /// <summary>Demo summary written by <c>sgnas demo</c>.</summary>
    public string DemoSummary => Path.Combine(Root, "demo.json");

    /// <summary>
    /// Moves the artifacts that depend on the generator (search results, retraining, exported models, demo summary)
    /// into a new <c>DIR/stale-UTCTIME/</c> folder before the generator is replaced, so nothing in the folder
    /// describes a generator that no longer exists. Returns the folder they went to, or null if there were none.
    /// </summary>
    public string? MoveAsideGeneratorDependents() =>
        MoveAside([MlNetModel, Onnx, DemoSummary, SearchDir, RetrainDir]);

    /// <summary>
    /// Moves the given files or folders (those that exist) into <paramref name="into"/>, or a new
    /// <c>DIR/stale-UTCTIME/</c> when null; returns the folder, or <paramref name="into"/> when nothing was moved.
    /// </summary>
    public string? MoveAside(IEnumerable<string> paths, string? into = null)
    {
        var present = paths.Where(p => File.Exists(p) || Directory.Exists(p)).ToList();
        if (present.Count == 0) return into;
        string stale = into ?? Path.Combine(Root, "stale-" + DateTime.UtcNow.ToString("yyyyMMdd-HHmmss-fff", System.Globalization.CultureInfo.InvariantCulture));
        Directory.CreateDirectory(stale);
        foreach (var p in present)
        {
            string target = Path.Combine(stale, Path.GetFileName(p));
            if (Directory.Exists(p)) Directory.Move(p, target);
            else File.Move(p, target);
        }
        return stale;
    }

    /// <summary>Throws a clear error if the supernet stage has not been run in this folder.</summary>
    /// <remarks>Completes or discards an interrupted supernet save first (<see cref="CheckpointSet.Recover"/>).</remarks>
    public void RequireSupernet()
    {
        new CheckpointSet(Root, "supernet").Recover();
        if (!File.Exists(SupernetMeta) || !File.Exists(SupernetWeights))
            throw new FileNotFoundException(
                $"No trained supernet in {Root} (expected supernet.json and supernet.pt). Run 'sgnas train-supernet --out {Root}' first.");
    }

    /// <summary>Throws a clear error if the generator stage has not been run in this folder.</summary>
    /// <remarks>Completes or discards an interrupted generator save first (<see cref="CheckpointSet.Recover"/>).</remarks>
    public void RequireGenerator()
    {
        new CheckpointSet(Root, "generator").Recover();
        if (!File.Exists(GeneratorMeta) || !File.Exists(GeneratorWeights))
            throw new FileNotFoundException(
                $"No trained generator in {Root} (expected generator.json and generator.pt). Run 'sgnas train-generator --run {Root}' first.");
    }
}
