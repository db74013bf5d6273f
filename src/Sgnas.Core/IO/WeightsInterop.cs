using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Sgnas.IO;

/// <summary>File formats PyTorch reads a state dict from.</summary>
public enum WeightsFormat
{
    /// <summary>safetensors (<c>.safetensors</c>): <c>safetensors.torch.load_file(path)</c>; no pickle, no code.</summary>
    SafeTensors,
    /// <summary>PyTorch's own <c>torch.save</c> zip of a pickled state dict (<c>.pt</c>, <c>.pth</c>, <c>.bin</c>): <c>torch.load(path)</c>.</summary>
    PyTorch,
}

/// <summary>
/// Weights interop with PyTorch through TorchSharp.PyBridge: a module's state dict (parameters and buffers, names as
/// TorchSharp gives them, e.g. <c>blocks.0.expand.weight</c>) exported as safetensors or as a <c>torch.save</c> file
/// that PyTorch loads with <c>safetensors.torch.load_file</c> or <c>torch.load</c>, and imported back from either
/// (docs/packaging.md, "Weights interop"). TorchSharp's own <c>.pt</c> checkpoints (<c>supernet.pt</c>,
/// <c>best.pt</c>) are a different format that PyTorch does not read.
/// </summary>
public static class WeightsInterop
{
    /// <summary>The format named by the file extension.</summary>
    /// <exception cref="ArgumentException">The extension is none of .safetensors, .pt, .pth, .bin.</exception>
    public static WeightsFormat FormatOf(string path) => Path.GetExtension(path).ToLowerInvariant() switch
    {
        ".safetensors" => WeightsFormat.SafeTensors,
        ".pt" or ".pth" or ".bin" => WeightsFormat.PyTorch,
        var e => throw new ArgumentException(
            $"'{path}': weights files end in .safetensors (safetensors) or .pt/.pth/.bin (torch.save); got '{e}'.", nameof(path)),
    };

    /// <summary>Writes <paramref name="module"/>'s state dict to <paramref name="path"/> (format from the extension unless given).</summary>
    public static void Export(nn.Module module, string path, WeightsFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var f = format ?? FormatOf(path);
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string tmp = full + ".tmp";
        if (f == WeightsFormat.SafeTensors) module.save_safetensors(tmp);
        else module.save_py(tmp);
        File.Move(tmp, full, overwrite: true);
    }

    /// <summary>
    /// Loads a state dict written by <see cref="Export"/> or by PyTorch (<c>safetensors.torch.save_file</c>,
    /// <c>torch.save(model.state_dict(), path)</c>) into <paramref name="module"/>. Strict: every entry of the module
    /// must be in the file with the same shape, and the file must hold nothing else.
    /// </summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">Names or shapes differ from the module's (the message names them).</exception>
    public static void Import(nn.Module module, string path, WeightsFormat? format = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!File.Exists(path)) throw new FileNotFoundException($"weights file '{path}' does not exist.", path);
        var f = format ?? FormatOf(path);
        try
        {
            if (f == WeightsFormat.SafeTensors) module.load_safetensors(path, strict: true);
            else module.load_py(path, strict: true);
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            throw new InvalidDataException($"'{path}' does not match the module's state dict ({module.GetName()}): {e.Message}", e);
        }
    }

    /// <summary>Exports the trained supernet of <paramref name="runFolder"/>; returns the number of state-dict entries.</summary>
    public static int ExportSupernet(string runFolder, string path, WeightsFormat? format = null)
    {
        var run = new RunFolder(runFolder);
        run.RequireSupernet();
        var (net, _) = SupernetCheckpoint.Load(run, CPU);
        using (net)
        {
            Export(net, path, format);
            return net.state_dict().Count;
        }
    }

    /// <summary>
    /// Exports a retrained network (<paramref name="retrainFolder"/>: the retrain folder, or a run folder with
    /// <c>retrain/</c> inside; best epoch unless <paramref name="best"/> is false); returns its architecture.
    /// </summary>
    public static Architecture ExportChild(string retrainFolder, string path, bool best = true, WeightsFormat? format = null)
    {
        string dir = File.Exists(Path.Combine(retrainFolder, "state.json")) ? retrainFolder : new RunFolder(retrainFolder).RetrainDir;
        var (net, _) = ArchitectureRetrainer.LoadNetwork(new RetrainFolder(dir), CPU, best);
        using (net)
        {
            Export(net, path, format);
            return net.Architecture;
        }
    }

    /// <summary>A supernet of <paramref name="preset"/> with the weights of <paramref name="path"/> (e.g. trained in PyTorch).</summary>
    public static Supernet ImportSupernet(SearchSpacePreset preset, string path, WeightsFormat? format = null)
    {
        var net = new Supernet(preset);
        try { Import(net, path, format); return net; }
        catch { net.Dispose(); throw; }
    }

    /// <summary>
    /// A child network of <paramref name="architecture"/> with the weights of <paramref name="path"/>;
    /// <paramref name="options"/> must be those it was trained with (SE, h-swish, ...), or the names will not match.
    /// </summary>
    public static ChildNetwork ImportChild(SearchSpacePreset preset, Architecture architecture, string path,
        ChildNetworkOptions? options = null, WeightsFormat? format = null)
    {
        var net = new ChildNetwork(preset, architecture, options);
        try { Import(net, path, format); return net; }
        catch { net.Dispose(); throw; }
    }
}
