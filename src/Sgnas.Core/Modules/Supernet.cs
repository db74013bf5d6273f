using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Modules;

/// <summary>
/// The unified supernet (SGNAS section 3.3): stem, one <see cref="UnifiedBlock"/> per layer of the preset, head.
/// The active path is an argument of every forward, never hidden module state.
/// </summary>
public sealed class Supernet : nn.Module
{
    private readonly Stem stem;
    private readonly ModuleList<UnifiedBlock> blocks;
    private readonly Head head;

    /// <summary>The search space this supernet spans.</summary>
    public SearchSpacePreset Preset { get; }

    /// <summary>Builds the supernet of <paramref name="preset"/> on the CPU (move it with <c>to(device)</c>).</summary>
    public Supernet(SearchSpacePreset preset, double dropout = 0.0) : base(nameof(Supernet))
    {
        Preset = preset;
        stem = new Stem(preset);
        blocks = new ModuleList<UnifiedBlock>();
        foreach (var g in preset.Geometry()) blocks.Add(new UnifiedBlock(g, preset));
        head = new Head(preset, dropoutRate: dropout);
        RegisterComponents();
    }

    /// <summary>The fixed stem.</summary>
    public Stem StemModule => stem;
    /// <summary>The fixed head.</summary>
    public Head HeadModule => head;

    /// <summary>The unified blocks in order.</summary>
    public IReadOnlyList<UnifiedBlock> Blocks => blocks.ToList();

    /// <summary>Logits of the single path <paramref name="arch"/> (kernels in sub-block order).</summary>
    public Tensor Forward(Tensor x, Architecture arch)
    {
        if (arch.Layers.Count != blocks.Count)
            throw new ArgumentException($"Architecture has {arch.Layers.Count} layers; supernet '{Preset.Name}' has {blocks.Count}.");
        return Staged(x, (h, i) => blocks[i].Forward(h, arch.Layers[i]));
    }

    // Stem, blocks and head, each in its own dispose scope: a stage's intermediate tensors (the e·c_in-wide
    // activations) are released as soon as it returns instead of when the caller's step scope ends. Without
    // gradient (BN recalibration, validation) that frees them for the next stage's reuse; with gradient, autograd
    // keeps what backward needs by its own references, so only the rest is released early. Lower peak memory
    // means fewer fresh pages for the allocator to map (docs/performance.md).
    private Tensor Staged(Tensor x, Func<Tensor, int, Tensor> block)
    {
        Tensor h;
        using (var scope = NewDisposeScope()) h = stem.call(Runtime.ChannelsLast.Apply(x)).MoveToOuterDisposeScope();
        for (int i = 0; i < blocks.Count; i++)
        {
            var input = h;
            using (var scope = NewDisposeScope()) h = block(input, i).MoveToOuterDisposeScope();
            input.Dispose();
        }
        using (var scope = NewDisposeScope())
        {
            var logits = head.call(h).MoveToOuterDisposeScope();
            h.Dispose();
            return logits;
        }
    }

    /// <summary>
    /// Logits under relaxed architecture weights <paramref name="m"/> of shape [layers, e_max, options]
    /// (SGNAS Eq. 2), shared by the whole batch.
    /// </summary>
    public Tensor ForwardRelaxed(Tensor x, Tensor m)
    {
        if (m.dim() != 3 || m.shape[0] != blocks.Count || m.shape[1] != Preset.MaxExpansion || m.shape[2] != Preset.OptionCount)
            throw new ArgumentException(
                $"Relaxed weights must be [{blocks.Count}, {Preset.MaxExpansion}, {Preset.OptionCount}]; got [{string.Join(", ", m.shape)}].");
        return Staged(x, (h, i) => blocks[i].ForwardRelaxed(h, m[i]));
    }

    /// <summary>
    /// Logits of the positional path <paramref name="path"/> (per layer, per sub-block: a kernel or skip, wherever the
    /// skips are): the discrete counterpart of <see cref="ForwardRelaxed"/>, equal to it for the path's one-hot
    /// weights (docs/generator.md). A prefix path is the single path <see cref="Forward"/> computes.
    /// </summary>
    public Tensor ForwardPath(Tensor x, SupernetPath path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.LayerCount != blocks.Count || path.Preset.MaxExpansion != Preset.MaxExpansion || path.Preset.OptionCount != Preset.OptionCount)
            throw new ArgumentException($"path of preset '{path.Preset.Name}' does not fit supernet '{Preset.Name}'.", nameof(path));
        var h = stem.call(x);
        for (int i = 0; i < blocks.Count; i++) h = blocks[i].ForwardPath(h, path.Layer(i));
        return head.call(h);
    }

    /// <summary>Number of parameters (Fig. 6b compares it with a conventional supernet).</summary>
    public long ParameterCount() => parameters().Sum(p => p.numel());
}
