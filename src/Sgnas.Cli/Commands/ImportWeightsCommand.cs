using System.CommandLine;
using System.Text.Json.Nodes;
using Sgnas.IO;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas import-weights</c>: the reverse of <c>export-weights</c>, through TorchSharp.PyBridge. A supernet state
/// dict (e.g. trained or fine-tuned in PyTorch) becomes the supernet of a new run folder, ready for
/// <c>train-generator</c>, <c>search</c> and <c>compare</c>; a retrained network's state dict (<c>--child</c>) replaces
/// <c>best.pt</c> (or <c>last.pt</c>) of a retrain folder, ready for <c>export</c>. Names and shapes must match exactly.
/// </summary>
public sealed class ImportWeightsCommand : SgnasCommand
{
    private readonly Option<string?> _in = CliOptions.Text("--in", "FILE.safetensors or FILE.pt|.pth (a state dict, as export-weights writes)", "FILE", required: true);
    private readonly Option<string> _run = CliOptions.Run("supernet: the run folder to create; --child: the retrain folder (or a run folder with retrain/)");
    private readonly Option<string> _preset = CliOptions.Preset();
    private readonly Option<string?> _data = CliOptions.Data("supernet: the dataset later commands use by default (default Fashion-MNIST)");
    private readonly Option<bool> _child = CliOptions.Flag("--child", "import a retrained network's weights instead of a supernet's");
    private readonly Option<bool> _last = CliOptions.Flag("--last", "with --child: replace last.pt instead of best.pt");
    private readonly Option<bool> _force = CliOptions.Flag("--force", "supernet: replace the supernet of a run folder that has one");

    public override string Name => "import-weights";
    public override string Summary => "Import supernet or retrained weights from PyTorch (safetensors or torch.save state dict).";

    protected override int Run(ParseResult parse)
    {
        string input = parse.GetValue(_in)!;
        string runDir = parse.GetValue(_run)!;
        bool child = parse.GetValue(_child), last = parse.GetValue(_last), force = parse.GetValue(_force);
        using var output = OpenOutput(parse);
        WeightsFormat format;
        try { format = WeightsInterop.FormatOf(input); }
        catch (ArgumentException e) { throw new UsageException("--in: " + e.Message); }
        if (last && !child) throw new UsageException("--last applies to --child only.");
        if (child && (parse.GetResult(_preset) is { Implicit: false } || parse.GetValue(_data) is not null || force))
            throw new UsageException("--child takes the network from the retrain folder; drop --preset, --data and --force.");

        string what, target;
        if (child)
        {
            string dir = File.Exists(Path.Combine(runDir, "state.json")) ? runDir : new RunFolder(runDir).RetrainDir;
            var folder = new RetrainFolder(dir);
            var (net, state) = ArchitectureRetrainer.LoadNetwork(folder, best: !last);
            using (net)
            {
                WeightsInterop.Import(net, input, format);
                target = last ? folder.LastWeights : folder.BestWeights;
                // One commit of the folder's checkpoint set: the other files stay as they are, and the manifest
                // records the new weights, so the folder still verifies (export, resume).
                var manifest = folder.Set.Verify();
                var weights = new CheckpointFile(Path.GetFileName(target), AtomicFile.ModuleBytes(net));
                if (manifest is null) AtomicFile.WriteAllBytes(target, weights.Content);
                else folder.Set.Commit($"{weights.Name} imported from {Path.GetFileName(input)}", [weights], manifest.Files.Select(f => f.Name));
                what = $"retrained network {state.Architecture}";
            }
        }
        else
        {
            var preset = CliOptions.LoadPreset(parse, _preset);
            var run = new RunFolder(runDir);
            if (!force && (File.Exists(run.SupernetMeta) || File.Exists(run.SupernetWeights)))
                throw new InvalidOperationException($"{run.Root} already holds a supernet; pass --force to replace it, or choose another --run.");
            string? data = parse.GetValue(_data) is { } d ? Path.GetFullPath(d) : null;
            using var net = WeightsInterop.ImportSupernet(preset, input, format);
            Directory.CreateDirectory(run.Root);
            // No training happened here: epoch 0 of 0, and the options record only where the weights came from and
            // the dataset later commands default to (SupernetDataSplit reads dataPath).
            var options = new JsonObject { ["importedFrom"] = Path.GetFullPath(input) };
            if (data is not null) options["dataPath"] = data;
            SupernetCheckpoint.Save(run, net, new SupernetCheckpointInfo
            {
                Preset = SupernetCheckpoint.PresetNode(preset), Epoch = 0, Epochs = 0, Options = options,
            });
            target = run.SupernetWeights;
            what = $"supernet '{preset.Name}' ({net.state_dict().Count} tensors)";
        }
        output.Result(new { source = Path.GetFullPath(input), format = format.ToString(), target, what },
            () => $"imported {Path.GetFullPath(input)} ({format}) into {target}: {what}");
        return 0;
    }
}
