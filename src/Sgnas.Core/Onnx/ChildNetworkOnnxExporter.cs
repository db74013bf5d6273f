using Sgnas.Data;
using Sgnas.Modules;
using TorchSharp.Modules;

namespace Sgnas.Onnx;

/// <summary>Options of <see cref="ChildNetworkOnnxExporter"/>.</summary>
public sealed record ChildNetworkOnnxExportOptions
{
    /// <summary>Input name used by <see cref="ForMLNet"/>: the pixel column of the ML.NET image sources.</summary>
    public const string MLNetInputName = "Features";

    /// <summary>Probabilities output name used by <see cref="ForMLNet"/>: ML.NET's multiclass score column.</summary>
    public const string MLNetProbabilitiesName = "Score";

    /// <summary>Predicted-index output name used by <see cref="ForMLNet"/>.</summary>
    public const string MLNetPredictedIndexName = "PredictedIndex";

    /// <summary>
    /// Name of the image input: [N, C, H, W], or [N, C·H·W] when <see cref="FlattenInput"/> is set.
    /// </summary>
    public string InputName { get; init; } = OnnxGraphBuilder.DefaultInputName;

    /// <summary>Name of the logits output [N, classes] (written when <see cref="IncludeLogits"/> is set).</summary>
    public string OutputName { get; init; } = OnnxGraphBuilder.DefaultOutputName;

    /// <summary>ONNX opset of the model.</summary>
    public int OpsetVersion { get; init; } = OnnxGraphBuilder.DefaultOpsetVersion;

    /// <summary>
    /// When set, the model takes raw pixel values in [0, 255] and first computes (p / 255 − mean[c]) / std[c], as
    /// <c>ImageDataset</c> does before training, so that an ML.NET pipeline can feed extracted pixels directly.
    /// When null (default) the model takes already normalised images, exactly what <see cref="ChildNetwork"/> takes.
    /// </summary>
    public ChannelNormalization? PixelNormalization { get; init; }

    /// <summary>
    /// When set, the input is [N, C·H·W]: each row one image in CHW order (the layout of the ML.NET
    /// <c>Features</c> column), reshaped to [N, C, H, W] inside the graph.
    /// </summary>
    public bool FlattenInput { get; init; }

    /// <summary>Whether the graph outputs the logits under <see cref="OutputName"/> (default true).</summary>
    public bool IncludeLogits { get; init; } = true;

    /// <summary>
    /// When set, the graph also outputs softmax(logits) [N, classes] under this name: class probabilities, what
    /// ML.NET's multiclass evaluator expects in its <c>Score</c> column (its log-loss reads them as probabilities).
    /// </summary>
    public string? ProbabilitiesOutputName { get; init; }

    /// <summary>
    /// When set, the graph also outputs argmax(logits) [N] (int64, the first index on ties, as torch.argmax) under
    /// this name: the predicted class index 0..classes−1.
    /// </summary>
    public string? PredictedIndexOutputName { get; init; }

    /// <summary>
    /// Class names, one per class: written as the slot names of the logits and probabilities outputs in the form
    /// ML.NET's ONNX transformer reads back (the <c>SlotNames</c> annotation of its <c>Score</c> column, which its
    /// evaluator uses to name the confusion matrix). Null writes none.
    /// </summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>
    /// The export consumed by <c>Sgnas.MLNet.Onnx.OnnxClassifierPipeline</c>: input <see cref="MLNetInputName"/>
    /// [N, C·H·W] of raw pixels in [0, 255] (the ML.NET <c>Features</c> column), normalised with
    /// <paramref name="pixelNormalization"/> inside the graph; outputs <see cref="MLNetProbabilitiesName"/>
    /// (probabilities) and <see cref="MLNetPredictedIndexName"/> (argmax), and the logits when
    /// <paramref name="includeLogits"/> is set.
    /// </summary>
    /// <param name="pixelNormalization">The normalisation the network was trained with.</param>
    /// <param name="includeLogits">Also output the logits under <see cref="OutputName"/>.</param>
    /// <param name="classNames">Optional class names (see <see cref="ClassNames"/>).</param>
    public static ChildNetworkOnnxExportOptions ForMLNet(ChannelNormalization pixelNormalization, bool includeLogits = false,
        IReadOnlyList<string>? classNames = null)
    {
        ArgumentNullException.ThrowIfNull(pixelNormalization);
        return new()
        {
            InputName = MLNetInputName,
            FlattenInput = true,
            PixelNormalization = pixelNormalization,
            IncludeLogits = includeLogits,
            ProbabilitiesOutputName = MLNetProbabilitiesName,
            PredictedIndexOutputName = MLNetPredictedIndexName,
            ClassNames = classNames,
        };
    }

    /// <summary>Names of the graph outputs these options produce, in graph order.</summary>
    public IReadOnlyList<string> OutputNames()
    {
        var names = new List<string>();
        if (IncludeLogits) names.Add(OutputName);
        if (ProbabilitiesOutputName is not null) names.Add(ProbabilitiesOutputName);
        if (PredictedIndexOutputName is not null) names.Add(PredictedIndexOutputName);
        return names;
    }

    internal void Validate()
    {
        var names = OutputNames();
        if (names.Count == 0)
            throw new ArgumentException(
                $"The export has no output: set {nameof(IncludeLogits)}, {nameof(ProbabilitiesOutputName)} or {nameof(PredictedIndexOutputName)}.");
        foreach (string n in names.Append(InputName))
            if (string.IsNullOrWhiteSpace(n)) throw new ArgumentException("ONNX input and output names must not be empty.");
        var duplicate = names.Append(InputName).GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
            throw new ArgumentException($"The ONNX input and outputs must have distinct names; '{duplicate.Key}' is used twice.");
    }
}

/// <summary>
/// Exports a retrained <see cref="ChildNetwork"/> to ONNX (docs/design.md §6: the hand-off to ML.NET's ONNX
/// scoring transformer). The graph computes the network's eval-mode forward pass: every batch norm is folded into
/// the conv before it (running statistics, whatever mode the module is in), dropout is the identity, and the mixed
/// depthwise stage is a Split into channel groups, one depthwise conv per group and a Concat, so the exported
/// network has exactly the multiply-adds of the derived architecture.
/// </summary>
public static class ChildNetworkOnnxExporter
{
    /// <summary>Builds the graph; callers may add nodes (e.g. Softmax) before serialising it.</summary>
    /// <exception cref="InvalidOperationException">A module's shape does not match the block geometry.</exception>
    public static OnnxGraphBuilder Build(ChildNetwork network, ChildNetworkOnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        var o = options ?? new ChildNetworkOnnxExportOptions();
        var preset = network.Preset;
        var act = network.Options.Activation;
        o.Validate();
        var b = new OnnxGraphBuilder($"sgnas-{preset.Name}", o.OpsetVersion);

        long c0 = preset.InputChannels, hw = preset.InputSize;
        string x;
        if (o.FlattenInput)
        {
            x = b.AddInput(o.InputName, OnnxDimension.Symbolic(OnnxGraphBuilder.BatchDimensionName), c0 * hw * hw);
            x = b.Reshape(x, new[] { -1, c0, hw, hw }, "input.image");
        }
        else
        {
            x = b.AddImageInput(c0, hw, hw, o.InputName);
        }
        if (o.PixelNormalization is { } norm) x = Normalize(b, x, norm, preset.InputChannels);

        string[] stemNames = { "stem.conv", "stem.first_dw", "stem.first_pw" };
        var stem = network.StemModule.Sequence;
        for (int i = 0; i < stem.Count; i++)
        {
            x = b.Conv2d(x, stem[i].Conv, stem[i].Bn, stemNames.ElementAtOrDefault(i) ?? $"stem.{i}");
            if (stem[i].Activated) x = Activation(b, x, act);
            if (i == 1 && network.StemModule.SE is { } stemSe) x = SqueezeExcite(b, x, stemSe, "stem.se");
        }

        var blocks = network.Blocks;
        for (int i = 0; i < blocks.Count; i++) x = Block(b, x, blocks[i], act, $"blocks.{i}");

        var head = network.HeadModule;
        string h = Activation(b, b.Conv2d(x, head.ConvBn.Conv, head.ConvBn.Bn, "head.conv"), act);
        h = b.Flatten(b.GlobalAveragePool(h, "head.pool"), name: "head.flatten");
        string logits = b.Linear(h, head.Classifier, "head.classifier");
        var batch = OnnxDimension.Symbolic(OnnxGraphBuilder.BatchDimensionName);
        if (o.ClassNames is { } names && names.Count != preset.NumClasses)
            throw new ArgumentException($"{names.Count} class names were given; preset '{preset.Name}' has {preset.NumClasses} classes.");
        if (o.IncludeLogits)
        {
            b.AddClassifierOutput(logits, preset.NumClasses, o.OutputName);
            if (o.ClassNames is not null) b.AddSlotNames(o.OutputName, o.ClassNames);
        }
        if (o.ProbabilitiesOutputName is { } probs)
        {
            b.AddClassifierOutput(b.Softmax(logits, axis: 1, name: "head.softmax"), preset.NumClasses, probs);
            if (o.ClassNames is not null) b.AddSlotNames(probs, o.ClassNames);
        }
        if (o.PredictedIndexOutputName is { } index)
            // From the logits, not the probabilities: softmax rounding can tie two logits that differ.
            b.AddOutput(b.ArgMax(logits, axis: 1, keepDims: false, name: "head.argmax"), index, OnnxDataType.Int64, batch);
        return b;
    }

    /// <summary>The ONNX model bytes of <paramref name="network"/>.</summary>
    public static byte[] Export(ChildNetwork network, ChildNetworkOnnxExportOptions? options = null) =>
        Build(network, options).ToBytes();

    /// <summary>Writes the ONNX model of <paramref name="network"/> to <paramref name="path"/> atomically.</summary>
    public static void Save(ChildNetwork network, string path, ChildNetworkOnnxExportOptions? options = null) =>
        Build(network, options).Save(path);

    private static string Block(OnnxGraphBuilder b, string x, ChildBlock block, ActivationKind act, string prefix)
    {
        var g = block.Geometry;
        long c = g.InChannels;
        string h = Activation(b, b.Conv2d(x, block.Expand.Conv, block.Expand.Bn, prefix + ".expand"), act);

        var (convs, dwBn) = block.Depthwise;
        foreach (var conv in convs)
            if (conv.in_channels != c || conv.groups != c)
                throw new InvalidOperationException(
                    $"{prefix}: depthwise conv has {conv.in_channels} channels in {conv.groups} groups; the block geometry says {c} depthwise channels.");
        var bn = TorchParameters.BatchNorm(dwBn);
        if (bn.Channels != c * convs.Count)
            throw new InvalidOperationException($"{prefix}: depthwise BN has {bn.Channels} channels for {convs.Count} groups of {c}.");

        // The BN over the concatenation folds into each group's conv with that group's channel slice.
        string[] groups = convs.Count == 1 ? new[] { h } : b.Split(h, 1, Enumerable.Repeat(c, convs.Count).ToArray(), prefix + ".split");
        var outs = new string[convs.Count];
        for (int j = 0; j < convs.Count; j++)
            outs[j] = b.Conv2d(groups[j], convs[j], bn.Slice((int)(j * c), (int)c), $"{prefix}.dw.{j}");
        h = Activation(b, outs.Length == 1 ? outs[0] : b.Concat(1, outs, prefix + ".concat"), act);

        if (block.SE is { } se)
        {
            var (reduce, expand) = se.Convs;
            string s = b.GlobalAveragePool(h, prefix + ".se.pool");
            s = b.Relu(b.Conv2d(s, reduce, name: prefix + ".se.reduce"));
            s = b.HardSigmoid(b.Conv2d(s, expand, name: prefix + ".se.expand")); // torch hardsigmoid: relu6(x + 3)/6
            h = b.Mul(h, s, prefix + ".se.scale");
        }

        string y = b.Conv2d(h, block.Project.Conv, block.Project.Bn, prefix + ".project");
        return g.HasResidual ? b.Add(y, x, prefix + ".residual") : y;
    }

    /// <summary>SE gate: global pool, 1×1 reduce, ReLU, 1×1 expand, hard-sigmoid, scale (as <see cref="Modules.SqueezeExcite"/>).</summary>
    private static string SqueezeExcite(OnnxGraphBuilder b, string h, Modules.SqueezeExcite se, string prefix)
    {
        var (reduce, expand) = se.Convs;
        string s = b.GlobalAveragePool(h, prefix + ".pool");
        s = b.Relu(b.Conv2d(s, reduce, name: prefix + ".reduce"));
        s = b.HardSigmoid(b.Conv2d(s, expand, name: prefix + ".expand"));
        return b.Mul(h, s, prefix + ".scale");
    }

    private static string Activation(OnnxGraphBuilder b, string x, ActivationKind kind) => kind switch
    {
        ActivationKind.ReLU6 => b.Relu6(x),
        ActivationKind.HSwish => b.HardSwish(x),
        _ => throw new NotSupportedException($"Activation {kind} has no ONNX export."),
    };

    /// <summary>x·(1/(255·std)) + (−mean/std) per channel: the training-time normalisation of raw pixels.</summary>
    private static string Normalize(OnnxGraphBuilder b, string x, ChannelNormalization n, int channels)
    {
        if (n.Channels != channels)
            throw new ArgumentException($"Pixel normalization has {n.Channels} channels; the network takes {channels}.");
        var scale = new float[channels];
        var shift = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            scale[c] = (float)(1.0 / (255.0 * n.Std[c]));
            shift[c] = (float)(-n.Mean[c] / (double)n.Std[c]);
        }
        string s = b.AddInitializer("input.scale", scale, 1, channels, 1, 1);
        string t = b.AddInitializer("input.shift", shift, 1, channels, 1, 1);
        return b.Add(b.Mul(x, s, "input.scaled"), t, "input.normalized");
    }
}
