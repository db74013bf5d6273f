using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Sgnas.SearchSpace;

/// <summary>One unified block of the macro-architecture: its output width and stride.</summary>
public sealed record LayerSpec(int OutChannels, int Stride);

/// <summary>
/// A search space as data (docs/design.md §2; paper Table 6): the fixed stem and head, the list of unified
/// blocks, the per-sub-block options and the constraint interval the generator is trained over.
/// Built-in presets are JSON files embedded in the assembly; users can load their own with <see cref="FromJson"/>.
/// </summary>
public sealed record SearchSpacePreset
{
    /// <summary>Preset name, stored in checkpoints so artifacts of different spaces are never mixed.</summary>
    public required string Name { get; init; }
    /// <summary>Input image channels (1 for grayscale, 3 for RGB).</summary>
    public required int InputChannels { get; init; }
    /// <summary>Input height and width in pixels (square inputs).</summary>
    public required int InputSize { get; init; }
    /// <summary>Number of classes of the classifier head.</summary>
    public required int NumClasses { get; init; }
    /// <summary>Output channels of the 3×3 stem convolution.</summary>
    public required int StemChannels { get; init; }
    /// <summary>Stride of the stem (2 for ImageNet, 1 for CIFAR and small inputs).</summary>
    public required int StemStride { get; init; }
    /// <summary>Output channels of the fixed MBConv e1 k3 block after the stem.</summary>
    public required int FirstBlockChannels { get; init; }
    /// <summary>The searchable unified blocks, in order.</summary>
    public required IReadOnlyList<LayerSpec> Layers { get; init; }
    /// <summary>Channels of the final 1×1 convolution before global pooling.</summary>
    public required int HeadChannels { get; init; }
    /// <summary>Depthwise kernel options of every sub-block (paper: 3, 5, 7).</summary>
    public IReadOnlyList<int> Kernels { get; init; } = new[] { 3, 5, 7 };
    /// <summary>Maximum expansion rate = number of sub-blocks per unified block (paper: 6).</summary>
    public int MaxExpansion { get; init; } = 6;
    /// <summary>Minimum expansion rate: the first <c>MinExpansion</c> sub-blocks never skip (paper: 2).</summary>
    public int MinExpansion { get; init; } = 2;
    /// <summary>Lower end of the generator's FLOPs interval in M; null means the smallest architecture's FLOPs.</summary>
    public double? ConstraintLowM { get; init; }
    /// <summary>Upper end of the generator's FLOPs interval in M; null means the largest architecture's FLOPs.</summary>
    public double? ConstraintHighM { get; init; }
    /// <summary>Per-channel normalisation mean of the input (in [0,1] pixel units).</summary>
    public IReadOnlyList<float> Mean { get; init; } = new[] { 0.5f };
    /// <summary>Per-channel normalisation standard deviation of the input.</summary>
    public IReadOnlyList<float> Std { get; init; } = new[] { 0.5f };

    /// <summary>Number of options per sub-block: every kernel plus skip (skip is the last index).</summary>
    [JsonIgnore] public int OptionCount => Kernels.Count + 1;
    /// <summary>Index of the skip option in an α map row.</summary>
    [JsonIgnore] public int SkipIndex => Kernels.Count;
    /// <summary>Number of unified blocks.</summary>
    [JsonIgnore] public int LayerCount => Layers.Count;

    /// <summary>Names of the presets shipped with the library.</summary>
    public static IReadOnlyList<string> BuiltInNames { get; } = new[] { "imagenet", "cifar", "fashion-small", "mobilenetv2" };

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Loads a built-in preset by name, or a user preset from a JSON file path.</summary>
    /// <exception cref="ArgumentException">Neither a built-in name nor an existing file.</exception>
    public static SearchSpacePreset Load(string nameOrPath)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(nameOrPath);
        var asm = typeof(SearchSpacePreset).Assembly;
        using (var s = asm.GetManifestResourceStream($"Sgnas.Presets.{nameOrPath}.json"))
        {
            if (s != null)
            {
                using var r = new StreamReader(s);
                return FromJson(r.ReadToEnd(), nameOrPath);
            }
        }
        if (File.Exists(nameOrPath)) return FromJson(File.ReadAllText(nameOrPath), nameOrPath);
        throw new ArgumentException(
            $"Unknown preset '{nameOrPath}': not one of {string.Join(", ", BuiltInNames)} and not a JSON file.", nameof(nameOrPath));
    }

    /// <summary>Parses and validates a preset from JSON text.</summary>
    /// <param name="json">The JSON text.</param>
    /// <param name="source">Where the text came from, for error messages.</param>
    public static SearchSpacePreset FromJson(string json, string source = "preset")
    {
        SearchSpacePreset? p;
        try { p = JsonSerializer.Deserialize<SearchSpacePreset>(json, Json); }
        catch (JsonException e) { throw new FormatException($"{source}: invalid preset JSON: {e.Message}", e); }
        if (p == null) throw new FormatException($"{source}: empty preset JSON.");
        p.Validate(source);
        return p;
    }

    /// <summary>Serialises the preset to JSON (the same form <see cref="FromJson"/> reads).</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Checks internal consistency; throws <see cref="FormatException"/> naming the field at fault.</summary>
    public void Validate(string source = "preset")
    {
        void Check(bool ok, string what) { if (!ok) throw new FormatException($"{source}: {what}"); }
        Check(!string.IsNullOrWhiteSpace(Name), "name is empty.");
        Check(InputChannels > 0 && InputSize > 0 && NumClasses > 1, "inputChannels, inputSize must be positive and numClasses at least 2.");
        Check(StemChannels > 0 && FirstBlockChannels > 0 && HeadChannels > 0, "stemChannels, firstBlockChannels and headChannels must be positive.");
        Check(StemStride is 1 or 2, "stemStride must be 1 or 2.");
        Check(Layers is { Count: > 0 }, "layers is empty.");
        for (int i = 0; i < Layers.Count; i++)
            Check(Layers[i].OutChannels > 0 && Layers[i].Stride is 1 or 2, $"layer {i}: outChannels must be positive and stride 1 or 2.");
        Check(Kernels is { Count: > 0 } && Kernels.All(k => k > 0 && k % 2 == 1) && Kernels.Distinct().Count() == Kernels.Count,
            "kernels must be distinct odd positive sizes.");
        Check(MaxExpansion >= 1 && MinExpansion >= 1 && MinExpansion <= MaxExpansion, "need 1 <= minExpansion <= maxExpansion.");
        Check(Mean.Count == InputChannels && Std.Count == InputChannels && Std.All(s => s > 0),
            "mean and std need one value per input channel, std positive.");
        Check(ConstraintLowM is null || ConstraintHighM is null || ConstraintLowM < ConstraintHighM, "constraintLowM must be below constraintHighM.");
    }

    /// <summary>Per-layer shapes implied by the macro-architecture (the builder's running state, computed once).</summary>
    public IReadOnlyList<LayerGeometry> Geometry()
    {
        var list = new List<LayerGeometry>(Layers.Count);
        int size = ConvOut(ConvOut(InputSize, StemStride), 1); // stem, then the stride-1 first block
        int cIn = FirstBlockChannels;
        foreach (var l in Layers)
        {
            int outSize = ConvOut(size, l.Stride);
            list.Add(new LayerGeometry(cIn, l.OutChannels, l.Stride, size, outSize));
            size = outSize; cIn = l.OutChannels;
        }
        return list;
    }

    /// <summary>Spatial size after the stem (input of the first block).</summary>
    public int StemOutputSize => ConvOut(InputSize, StemStride);

    /// <summary>Spatial size of the last unified block's output (input of the head conv).</summary>
    public int FinalSize => Geometry()[^1].OutSize;

    /// <summary>Output size of a same-padded convolution: ceil(size / stride), the same for every odd kernel.</summary>
    public static int ConvOut(int size, int stride) => (size - 1) / stride + 1;
}

/// <summary>Shapes of one unified block: input/output channels and spatial sizes.</summary>
public sealed record LayerGeometry(int InChannels, int OutChannels, int Stride, int InSize, int OutSize)
{
    /// <summary>Residual connection rule, decided once: stride 1 and equal widths.</summary>
    public bool HasResidual => Stride == 1 && InChannels == OutChannels;
}
