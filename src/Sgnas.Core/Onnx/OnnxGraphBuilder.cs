using System.Buffers.Binary;
using System.Globalization;
using Sgnas.IO;

namespace Sgnas.Onnx;

/// <summary>
/// Builds an ONNX model (one graph of standard <c>ai.onnx</c> operators, float tensors) and writes it as protobuf
/// bytes without any generated code. TorchSharp has no ONNX exporter; exporters walk their modules and call the
/// operator methods here, each of which returns the name of the value it produces so that calls chain.
/// </summary>
/// <remarks>
/// <para>Every operator method checks that its inputs are already defined (graph input, initializer or the output of
/// an earlier node), so the node list is topologically sorted by construction and a mistake fails at the call that
/// made it, not inside ONNX Runtime. Value names passed as <c>name</c> are hints: a suffix makes them unique.</para>
/// <para>Opset <see cref="DefaultOpsetVersion"/> is the default; versions <see cref="MinOpsetVersion"/> to
/// <see cref="MaxOpsetVersion"/> are accepted. The lower bound is HardSwish (opset 14); Clip takes min/max as inputs
/// (opset 11) and Split takes its sizes as an input (opset 13). The upper bound is the last version whose schema
/// changes for these operators were checked: ReduceMean takes its axes as an input from opset 18 on, which
/// <see cref="ReduceMean"/> handles.</para>
/// </remarks>
public sealed class OnnxGraphBuilder
{
    /// <summary>Opset used unless the caller asks for another one; supported by ONNX Runtime 1.14 and later.</summary>
    public const int DefaultOpsetVersion = 17;

    /// <summary>Lowest opset accepted: HardSwish first appears in opset 14.</summary>
    public const int MinOpsetVersion = 14;

    /// <summary>Highest opset accepted (operator schemas used here checked up to this version).</summary>
    public const int MaxOpsetVersion = 18;

    /// <summary>ONNX IR version written; IR 8 is the version that accompanies opsets 15 to 18.</summary>
    public const long IrVersion = 8;

    /// <summary>Default name of the image input.</summary>
    public const string DefaultInputName = "input";

    /// <summary>Default name of the classifier output.</summary>
    public const string DefaultOutputName = "logits";

    /// <summary>Symbolic name of the batch dimension of inputs and outputs added by the image/classifier helpers.</summary>
    public const string BatchDimensionName = "N";

    private readonly List<ProtoMessage> _nodes = new();
    private readonly List<ProtoMessage> _initializers = new();
    private readonly List<ProtoMessage> _inputs = new();
    private readonly List<ProtoMessage> _outputs = new();
    private readonly HashSet<string> _values = new(StringComparer.Ordinal);
    private readonly Dictionary<float, string> _scalars = new();
    private readonly Dictionary<string, int> _operatorCounts = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> _extraOpsets = new(StringComparer.Ordinal);

    /// <summary>Creates an empty graph.</summary>
    /// <param name="graphName">GraphProto.name.</param>
    /// <param name="opsetVersion">Version of the default <c>ai.onnx</c> operator set.</param>
    /// <param name="producerName">ModelProto.producer_name.</param>
    public OnnxGraphBuilder(string graphName = "sgnas", int opsetVersion = DefaultOpsetVersion, string producerName = "Sgnas.MLNet")
    {
        if (string.IsNullOrWhiteSpace(graphName)) throw new ArgumentException("The graph needs a name.", nameof(graphName));
        if (opsetVersion is < MinOpsetVersion or > MaxOpsetVersion)
            throw new ArgumentOutOfRangeException(nameof(opsetVersion), opsetVersion,
                $"Opset must be between {MinOpsetVersion} (HardSwish) and {MaxOpsetVersion} (last version checked).");
        GraphName = graphName;
        OpsetVersion = opsetVersion;
        ProducerName = producerName ?? throw new ArgumentNullException(nameof(producerName));
    }

    /// <summary>GraphProto.name.</summary>
    public string GraphName { get; }

    /// <summary>Version of the <c>ai.onnx</c> operator set the model imports.</summary>
    public int OpsetVersion { get; }

    /// <summary>ModelProto.producer_name.</summary>
    public string ProducerName { get; }

    /// <summary>Number of nodes added so far.</summary>
    public int NodeCount => _nodes.Count;

    /// <summary>Number of nodes per operator type, for diagnostics and structural checks of exporters.</summary>
    public IReadOnlyDictionary<string, int> OperatorCounts => _operatorCounts;

    /// <summary>Number of initializers (constant tensors) added so far.</summary>
    public int InitializerCount => _initializers.Count;

    /// <summary>True when <paramref name="valueName"/> names a graph input, an initializer or a node output.</summary>
    public bool IsDefined(string valueName) => _values.Contains(valueName);

    // ---------------------------------------------------------------- graph inputs and outputs

    /// <summary>Adds a float graph input of the given shape and returns its name.</summary>
    /// <exception cref="ArgumentException">The name is already used.</exception>
    public string AddInput(string name, params OnnxDimension[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        DefineExact(name, "graph input");
        _inputs.Add(ValueInfo(name, shape));
        return name;
    }

    /// <summary>Adds an image input of shape [N, channels, height, width] with a dynamic batch dimension N.</summary>
    public string AddImageInput(long channels, long height, long width, string name = DefaultInputName) =>
        AddInput(name, OnnxDimension.Symbolic(BatchDimensionName), channels, height, width);

    /// <summary>
    /// Declares <paramref name="value"/> a graph output called <paramref name="name"/> with the given shape.
    /// When the two names differ an Identity node gives the value its public name.
    /// </summary>
    /// <returns>The output's name.</returns>
    public string AddOutput(string value, string name, params OnnxDimension[] shape) =>
        AddOutput(value, name, OnnxDataType.Float, shape);

    /// <summary>
    /// Declares <paramref name="value"/> a graph output of element type <paramref name="elementType"/> (for example
    /// the int64 result of <see cref="ArgMax"/>); see <see cref="AddOutput(string, string, OnnxDimension[])"/>.
    /// </summary>
    /// <returns>The output's name.</returns>
    public string AddOutput(string value, string name, OnnxDataType elementType, params OnnxDimension[] shape)
    {
        RequireDefined(value, "graph output");
        if (value != name) IdentityExact(value, name);
        _outputs.Add(ValueInfo(name, shape, elementType));
        return name;
    }

    /// <summary>Declares <paramref name="value"/> a classifier output of shape [N, classes] (dynamic batch).</summary>
    public string AddClassifierOutput(string value, long classes, string name = DefaultOutputName) =>
        AddOutput(value, name, OnnxDimension.Symbolic(BatchDimensionName), classes);

    // ---------------------------------------------------------------- initializers

    /// <summary>Adds a float constant tensor and returns its (made unique) name.</summary>
    /// <exception cref="ArgumentException">The element count does not match the shape.</exception>
    public string AddInitializer(string name, ReadOnlySpan<float> data, params long[] shape)
    {
        CheckElementCount(name, data.Length, shape);
        byte[] raw = new byte[data.Length * sizeof(float)];
        // raw_data must be little-endian whatever the host is.
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * sizeof(float)), data[i]);
        return AddTensor(name, OnnxDataType.Float, shape, raw);
    }

    /// <summary>Adds an int64 constant tensor (shapes, axes, split sizes) and returns its (made unique) name.</summary>
    /// <exception cref="ArgumentException">The element count does not match the shape.</exception>
    public string AddInitializer(string name, ReadOnlySpan<long> data, params long[] shape)
    {
        CheckElementCount(name, data.Length, shape);
        byte[] raw = new byte[data.Length * sizeof(long)];
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(i * sizeof(long)), data[i]);
        return AddTensor(name, OnnxDataType.Int64, shape, raw);
    }

    /// <summary>Adds a string constant tensor (UTF-8, in string_data) and returns its (made unique) name.</summary>
    /// <exception cref="ArgumentException">The element count does not match the shape.</exception>
    public string AddInitializer(string name, IReadOnlyList<string> data, params long[] shape)
    {
        ArgumentNullException.ThrowIfNull(data);
        CheckElementCount(name, data.Count, shape);
        string unique = DefineUnique(name);
        var tensor = new ProtoMessage().RepeatedInt64(OnnxProto.Tensor.Dims, shape).Int32(OnnxProto.Tensor.DataType, (int)OnnxDataType.String);
        foreach (string v in data) tensor.Bytes(OnnxProto.Tensor.StringData, System.Text.Encoding.UTF8.GetBytes(v ?? throw new ArgumentException($"Initializer '{name}' has a null string.")));
        _initializers.Add(tensor.String(OnnxProto.Tensor.Name, unique));
        return unique;
    }

    /// <summary>
    /// Names the slots of the float output <paramref name="outputName"/> (e.g. class names of a probabilities
    /// output) the way ML.NET's ONNX transformer reads them back as the column's <c>SlotNames</c> annotation: a
    /// node called <c>mlnet.{output}.SlotNames</c> whose <c>keys_strings</c> attribute lists the names. The node is
    /// an ai.onnx.ml LabelEncoder on a constant (the form ML.NET's own ONNX export writes), so the model stays valid
    /// ONNX; its result feeds nothing and runtimes drop it.
    /// </summary>
    /// <exception cref="ArgumentException">No names, or a name is empty.</exception>
    public void AddSlotNames(string outputName, IReadOnlyList<string> names)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(outputName);
        ArgumentNullException.ThrowIfNull(names);
        if (names.Count == 0 || names.Any(string.IsNullOrEmpty))
            throw new ArgumentException($"Slot names of '{outputName}' must be non-empty strings.", nameof(names));
        const string mlDomain = "ai.onnx.ml";
        _extraOpsets[mlDomain] = Math.Max(_extraOpsets.GetValueOrDefault(mlDomain), 2); // LabelEncoder-2: keys_strings, values_int64s
        string stem = $"mlnet.{outputName}.SlotNames";
        string one = AddInitializer(stem + ".input", new[] { "one" }, 1, 1);
        string output = DefineUnique(stem + ".output");
        Emit("LabelEncoder", new[] { one }, new[] { output }, new[]
        {
            OnnxAttribute.Strings("keys_strings", names.ToArray()),
            OnnxAttribute.Ints("values_int64s", Enumerable.Range(0, names.Count).Select(i => (long)i).ToArray()),
        }, nodeName: stem, domain: mlDomain);
    }

    /// <summary>A rank-0 float constant, shared between all nodes that use the same value.</summary>
    public string Scalar(float value)
    {
        if (_scalars.TryGetValue(value, out string? existing)) return existing;
        string name = AddInitializer("const_" + value.ToString("R", CultureInfo.InvariantCulture), new[] { value });
        _scalars[value] = name;
        return name;
    }

    private string Int64Vector(string name, IReadOnlyList<long> values) =>
        AddInitializer(name, values.ToArray(), values.Count);

    // ---------------------------------------------------------------- generic node

    /// <summary>
    /// Adds a node of any operator in the default domain. An empty string in <paramref name="inputs"/> marks an
    /// omitted optional input, as ONNX specifies.
    /// </summary>
    /// <param name="opType">Operator name, e.g. <c>Conv</c>.</param>
    /// <param name="inputs">Names of defined values, in the operator's input order.</param>
    /// <param name="outputCount">Number of outputs the node produces.</param>
    /// <param name="attributes">Attributes, or null.</param>
    /// <param name="name">Hint for the output names (made unique); defaults to the operator name.</param>
    /// <returns>Names of the node's outputs.</returns>
    /// <exception cref="ArgumentException">An input is not defined yet.</exception>
    public string[] AddNode(string opType, IReadOnlyList<string> inputs, int outputCount = 1,
        IReadOnlyList<OnnxAttribute>? attributes = null, string? name = null)
    {
        if (string.IsNullOrWhiteSpace(opType)) throw new ArgumentException("The node needs an operator type.", nameof(opType));
        ArgumentNullException.ThrowIfNull(inputs);
        if (outputCount < 1) throw new ArgumentOutOfRangeException(nameof(outputCount), outputCount, "A node has at least one output.");
        foreach (string input in inputs)
            if (input.Length != 0) RequireDefined(input, $"input of {opType}");

        string stem = name ?? opType;
        var outputs = new string[outputCount];
        for (int i = 0; i < outputCount; i++) outputs[i] = DefineUnique(outputCount == 1 ? stem : $"{stem}_out{i}");
        Emit(opType, inputs, outputs, attributes);
        return outputs;
    }

    // ---------------------------------------------------------------- operators

    /// <summary>Conv with weight and optional bias given by value name.</summary>
    /// <param name="input">Input value [N, C, spatial...].</param>
    /// <param name="weight">Weight value [O, C/group, k...].</param>
    /// <param name="bias">Bias value [O], or null.</param>
    /// <param name="kernelShape">Kernel size per spatial axis.</param>
    /// <param name="strides">Stride per spatial axis; null for 1.</param>
    /// <param name="pads">Zero padding: one value per spatial axis (same at both ends), or begins then ends
    /// (ONNX order, e.g. top, left, bottom, right); null for none.</param>
    /// <param name="group">Number of groups (channels for a depthwise conv).</param>
    /// <param name="dilations">Dilation per spatial axis; null for 1.</param>
    /// <param name="name">Output name hint.</param>
    public string Conv(string input, string weight, string? bias, IReadOnlyList<long> kernelShape,
        IReadOnlyList<long>? strides = null, IReadOnlyList<long>? pads = null, long group = 1,
        IReadOnlyList<long>? dilations = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(kernelShape);
        int spatial = kernelShape.Count;
        if (spatial == 0 || kernelShape.Any(k => k < 1))
            throw new ArgumentException($"Conv kernel shape must be positive sizes, got [{string.Join(", ", kernelShape)}].", nameof(kernelShape));
        long[] s = PerAxis(strides, spatial, 1, nameof(strides));
        long[] d = PerAxis(dilations, spatial, 1, nameof(dilations));
        long[] p = pads switch
        {
            null => new long[2 * spatial],
            _ when pads.Count == spatial => pads.Concat(pads).ToArray(),
            _ when pads.Count == 2 * spatial => pads.ToArray(),
            _ => throw new ArgumentException($"Conv pads need {spatial} or {2 * spatial} values, got {pads.Count}.", nameof(pads)),
        };
        if (p.Any(v => v < 0)) throw new ArgumentException("Conv pads must not be negative.", nameof(pads));
        if (group < 1) throw new ArgumentOutOfRangeException(nameof(group), group, "Conv group must be at least 1.");

        var inputs = bias is null ? new[] { input, weight } : new[] { input, weight, bias };
        return AddNode("Conv", inputs, 1, new[]
        {
            OnnxAttribute.Ints("kernel_shape", kernelShape.ToArray()),
            OnnxAttribute.Ints("strides", s),
            OnnxAttribute.Ints("pads", p),
            OnnxAttribute.Ints("dilations", d),
            OnnxAttribute.Int("group", group),
        }, name ?? "Conv")[0];
    }

    /// <summary>Conv whose weight [O, C/group, k...] and optional bias [O] are added as initializers.</summary>
    /// <inheritdoc cref="Conv(string, string, string?, IReadOnlyList{long}, IReadOnlyList{long}?, IReadOnlyList{long}?, long, IReadOnlyList{long}?, string?)"/>
    public string Conv(string input, float[] weight, long[] weightShape, float[]? bias = null,
        IReadOnlyList<long>? strides = null, IReadOnlyList<long>? pads = null, long group = 1,
        IReadOnlyList<long>? dilations = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(weight);
        ArgumentNullException.ThrowIfNull(weightShape);
        if (weightShape.Length < 3)
            throw new ArgumentException($"Conv weight shape must be [O, C/group, k...], got [{string.Join(", ", weightShape)}].", nameof(weightShape));
        if (weightShape[0] % group != 0)
            throw new ArgumentException($"Conv output channels {weightShape[0]} are not divisible by group {group}.", nameof(group));
        string stem = name ?? "conv";
        string w = AddInitializer(stem + ".weight", weight, weightShape);
        string? b = null;
        if (bias is not null)
        {
            if (bias.Length != weightShape[0])
                throw new ArgumentException($"Conv bias has {bias.Length} values for {weightShape[0]} output channels.", nameof(bias));
            b = AddInitializer(stem + ".bias", bias, bias.Length);
        }
        return Conv(input, w, b, weightShape[2..], strides, pads, group, dilations, stem);
    }

    /// <summary>Clip(x, min, max); the bounds are shared scalar initializers (opset 11+ takes them as inputs).</summary>
    public string Clip(string input, float min, float max, string? name = null)
    {
        if (!(min <= max)) throw new ArgumentException($"Clip needs min <= max, got {min} and {max}.", nameof(min));
        return AddNode("Clip", new[] { input, Scalar(min), Scalar(max) }, 1, null, name ?? "Clip")[0];
    }

    /// <summary>ReLU6, min(max(x, 0), 6), as Clip.</summary>
    public string Relu6(string input, string? name = null) => Clip(input, 0f, 6f, name ?? "Relu6");

    /// <summary>Relu.</summary>
    public string Relu(string input, string? name = null) => Unary("Relu", input, name);

    /// <summary>Sigmoid.</summary>
    public string Sigmoid(string input, string? name = null) => Unary("Sigmoid", input, name);

    /// <summary>HardSwish, x·relu6(x + 3)/6 (opset 14), the h-swish of MobileNetV3 and torch.nn.Hardswish.</summary>
    public string HardSwish(string input, string? name = null) => Unary("HardSwish", input, name);

    /// <summary>
    /// HardSigmoid, max(0, min(1, alpha·x + beta)). The defaults (1/6, 0.5) give relu6(x + 3)/6 as in
    /// torch.nn.Hardsigmoid; ONNX's own defaults (0.2, 0.5) differ, so both attributes are always written.
    /// </summary>
    public string HardSigmoid(string input, float alpha = 1f / 6f, float beta = 0.5f, string? name = null) =>
        AddNode("HardSigmoid", new[] { input }, 1,
            new[] { OnnxAttribute.Float("alpha", alpha), OnnxAttribute.Float("beta", beta) }, name ?? "HardSigmoid")[0];

    /// <summary>Element-wise product with numpy broadcasting.</summary>
    public string Mul(string a, string b, string? name = null) => AddNode("Mul", new[] { a, b }, 1, null, name ?? "Mul")[0];

    /// <summary>Element-wise sum with numpy broadcasting.</summary>
    public string Add(string a, string b, string? name = null) => AddNode("Add", new[] { a, b }, 1, null, name ?? "Add")[0];

    /// <summary>GlobalAveragePool: [N, C, H, W] → [N, C, 1, 1].</summary>
    public string GlobalAveragePool(string input, string? name = null) => Unary("GlobalAveragePool", input, name);

    /// <summary>
    /// ReduceMean over <paramref name="axes"/>. Up to opset 17 the axes are an attribute, from opset 18 on an
    /// int64 input; this method writes whichever form the builder's opset needs.
    /// </summary>
    public string ReduceMean(string input, IReadOnlyList<long> axes, bool keepDims = true, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(axes);
        if (axes.Count == 0) throw new ArgumentException("ReduceMean needs at least one axis.", nameof(axes));
        var keep = OnnxAttribute.Int("keepdims", keepDims ? 1 : 0);
        string stem = name ?? "ReduceMean";
        return OpsetVersion >= 18
            ? AddNode("ReduceMean", new[] { input, Int64Vector(stem + ".axes", axes) }, 1, new[] { keep }, stem)[0]
            : AddNode("ReduceMean", new[] { input }, 1, new[] { OnnxAttribute.Ints("axes", axes.ToArray()), keep }, stem)[0];
    }

    /// <summary>Flatten to 2-D: dimensions before <paramref name="axis"/> form the rows.</summary>
    public string Flatten(string input, long axis = 1, string? name = null) =>
        AddNode("Flatten", new[] { input }, 1, new[] { OnnxAttribute.Int("axis", axis) }, name ?? "Flatten")[0];

    /// <summary>Gemm, alpha·A'·B' + beta·C with A' = A or Aᵀ and B' = B or Bᵀ.</summary>
    public string Gemm(string a, string b, string? c = null, bool transA = false, bool transB = false,
        float alpha = 1f, float beta = 1f, string? name = null)
    {
        var inputs = c is null ? new[] { a, b } : new[] { a, b, c };
        return AddNode("Gemm", inputs, 1, new[]
        {
            OnnxAttribute.Float("alpha", alpha), OnnxAttribute.Float("beta", beta),
            OnnxAttribute.Int("transA", transA ? 1 : 0), OnnxAttribute.Int("transB", transB ? 1 : 0),
        }, name ?? "Gemm")[0];
    }

    /// <summary>
    /// Fully connected layer y = x·Wᵀ + b (torch.nn.Linear layout) as Gemm with transB; W [outFeatures, inFeatures]
    /// and b [outFeatures] become initializers.
    /// </summary>
    public string FullyConnected(string input, float[] weight, long outFeatures, long inFeatures, float[]? bias = null, string? name = null)
    {
        string stem = name ?? "fc";
        string w = AddInitializer(stem + ".weight", weight, outFeatures, inFeatures);
        string? b = null;
        if (bias is not null)
        {
            if (bias.Length != outFeatures)
                throw new ArgumentException($"Linear bias has {bias.Length} values for {outFeatures} outputs.", nameof(bias));
            b = AddInitializer(stem + ".bias", bias, outFeatures);
        }
        return Gemm(input, w, b, transB: true, name: stem);
    }

    /// <summary>Concatenates values along <paramref name="axis"/>.</summary>
    public string Concat(long axis, IReadOnlyList<string> inputs, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Count == 0) throw new ArgumentException("Concat needs at least one input.", nameof(inputs));
        return AddNode("Concat", inputs, 1, new[] { OnnxAttribute.Int("axis", axis) }, name ?? "Concat")[0];
    }

    /// <summary>Splits along <paramref name="axis"/> into parts of the given sizes (sizes as an input, opset 13+).</summary>
    /// <returns>One value name per part, in order.</returns>
    public string[] Split(string input, long axis, IReadOnlyList<long> sizes, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        if (sizes.Count == 0 || sizes.Any(v => v < 1))
            throw new ArgumentException($"Split sizes must be positive, got [{string.Join(", ", sizes)}].", nameof(sizes));
        string stem = name ?? "Split";
        return AddNode("Split", new[] { input, Int64Vector(stem + ".split", sizes) }, sizes.Count,
            new[] { OnnxAttribute.Int("axis", axis) }, stem);
    }

    /// <summary>Slice with int64 starts/ends/axes/steps given as initializers (opset 10+ form).</summary>
    public string Slice(string input, IReadOnlyList<long> starts, IReadOnlyList<long> ends,
        IReadOnlyList<long>? axes = null, IReadOnlyList<long>? steps = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(starts);
        ArgumentNullException.ThrowIfNull(ends);
        if (starts.Count == 0 || starts.Count != ends.Count)
            throw new ArgumentException($"Slice needs as many starts as ends (got {starts.Count} and {ends.Count}).", nameof(ends));
        if (axes is not null && axes.Count != starts.Count) throw new ArgumentException("Slice needs one axis per start.", nameof(axes));
        if (steps is not null && steps.Count != starts.Count) throw new ArgumentException("Slice needs one step per start.", nameof(steps));
        string stem = name ?? "Slice";
        var inputs = new List<string> { input, Int64Vector(stem + ".starts", starts), Int64Vector(stem + ".ends", ends) };
        if (axes is not null || steps is not null)
            inputs.Add(Int64Vector(stem + ".axes", axes ?? Enumerable.Range(0, starts.Count).Select(i => (long)i).ToArray()));
        if (steps is not null) inputs.Add(Int64Vector(stem + ".steps", steps));
        return AddNode("Slice", inputs, 1, null, stem)[0];
    }

    /// <summary>
    /// Reshape to <paramref name="shape"/> (an int64 initializer): 0 copies the input's size on that axis, one −1 is
    /// inferred from the element count, so [−1, C, H, W] keeps a dynamic batch.
    /// </summary>
    public string Reshape(string input, IReadOnlyList<long> shape, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Count == 0 || shape.Any(d => d < -1) || shape.Count(d => d == -1) > 1)
            throw new ArgumentException($"Reshape needs sizes >= -1 with at most one -1, got [{string.Join(", ", shape)}].", nameof(shape));
        string stem = name ?? "Reshape";
        return AddNode("Reshape", new[] { input, Int64Vector(stem + ".shape", shape) }, 1, null, stem)[0];
    }

    /// <summary>Softmax along <paramref name="axis"/> (opset 13+ normalises that axis only, like torch.softmax).</summary>
    public string Softmax(string input, long axis = -1, string? name = null) =>
        AddNode("Softmax", new[] { input }, 1, new[] { OnnxAttribute.Int("axis", axis) }, name ?? "Softmax")[0];

    /// <summary>
    /// ArgMax along <paramref name="axis"/>: int64 indices of the largest value, the first one on ties
    /// (select_last_index = 0), as torch.argmax.
    /// </summary>
    public string ArgMax(string input, long axis = -1, bool keepDims = false, string? name = null) =>
        AddNode("ArgMax", new[] { input }, 1, new[]
        {
            OnnxAttribute.Int("axis", axis), OnnxAttribute.Int("keepdims", keepDims ? 1 : 0),
            OnnxAttribute.Int("select_last_index", 0),
        }, name ?? "ArgMax")[0];

    /// <summary>Identity (copies a value under a new name).</summary>
    public string Identity(string input, string? name = null) => Unary("Identity", input, name);

    private void IdentityExact(string input, string exactName)
    {
        RequireDefined(input, "input of Identity");
        DefineExact(exactName, "graph output");
        Emit("Identity", new[] { input }, new[] { exactName }, null);
    }

    // ---------------------------------------------------------------- serialization

    /// <summary>Encodes the model (ModelProto) as protobuf bytes.</summary>
    /// <exception cref="InvalidOperationException">The graph has no input or no output.</exception>
    public byte[] ToBytes()
    {
        if (_inputs.Count == 0) throw new InvalidOperationException("The ONNX graph has no input; call AddInput or AddImageInput.");
        if (_outputs.Count == 0) throw new InvalidOperationException("The ONNX graph has no output; call AddOutput or AddClassifierOutput.");

        var graph = new ProtoMessage().String(OnnxProto.Graph.Name, GraphName);
        foreach (var n in _nodes) graph.Message(OnnxProto.Graph.Node, n);
        foreach (var t in _initializers) graph.Message(OnnxProto.Graph.Initializer, t);
        foreach (var i in _inputs) graph.Message(OnnxProto.Graph.Input, i);
        foreach (var o in _outputs) graph.Message(OnnxProto.Graph.Output, o);

        var opset = new ProtoMessage().Int64(OnnxProto.OperatorSetId.Version, OpsetVersion); // empty domain = ai.onnx
        string version = typeof(OnnxGraphBuilder).Assembly.GetName().Version?.ToString() ?? "0";
        var model = new ProtoMessage()
            .Int64(OnnxProto.Model.IrVersion, IrVersion)
            .String(OnnxProto.Model.ProducerName, ProducerName)
            .String(OnnxProto.Model.ProducerVersion, version)
            .Message(OnnxProto.Model.OpsetImport, opset);
        foreach (var (domain, v) in _extraOpsets)
            model.Message(OnnxProto.Model.OpsetImport,
                new ProtoMessage().String(OnnxProto.OperatorSetId.Domain, domain).Int64(OnnxProto.OperatorSetId.Version, v));
        model.Message(OnnxProto.Model.Graph, graph);
        return model.ToMemory().ToArray();
    }

    /// <summary>
    /// Writes the model to <paramref name="path"/> atomically: the bytes go to a temporary file in the same folder
    /// that then replaces the target, so readers never see a partial model and a failed write leaves any previous
    /// file untouched.
    /// </summary>
    public void Save(string path) => AtomicFile.WriteAllBytes(path, ToBytes());

    // ---------------------------------------------------------------- helpers

    private string Unary(string opType, string input, string? name) => AddNode(opType, new[] { input }, 1, null, name ?? opType)[0];

    private void Emit(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, IReadOnlyList<OnnxAttribute>? attributes,
        string? nodeName = null, string? domain = null)
    {
        var node = new ProtoMessage();
        foreach (string i in inputs) node.String(OnnxProto.Node.Input, i);
        foreach (string o in outputs) node.String(OnnxProto.Node.Output, o);
        node.String(OnnxProto.Node.Name, nodeName ?? outputs[0]); // outputs are unique, so they make unique node names
        node.String(OnnxProto.Node.OpType, opType);
        if (domain is not null) node.String(OnnxProto.Node.Domain, domain);
        if (attributes is not null)
            foreach (var a in attributes) node.Message(OnnxProto.Node.Attribute, a.Encode());
        _nodes.Add(node);
        _operatorCounts[opType] = _operatorCounts.GetValueOrDefault(opType) + 1;
    }

    private string AddTensor(string name, OnnxDataType type, long[] shape, byte[] raw)
    {
        string unique = DefineUnique(name);
        var tensor = new ProtoMessage()
            .RepeatedInt64(OnnxProto.Tensor.Dims, shape)
            .Int32(OnnxProto.Tensor.DataType, (int)type)
            .String(OnnxProto.Tensor.Name, unique)
            .Bytes(OnnxProto.Tensor.RawData, raw);
        _initializers.Add(tensor);
        return unique;
    }

    private static void CheckElementCount(string name, int count, long[] shape)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Any(d => d < 0)) throw new ArgumentException($"Initializer '{name}' has a negative dimension.", nameof(shape));
        long expected = shape.Aggregate(1L, (a, d) => a * d); // rank 0 is a scalar with one element
        if (expected != count)
            throw new ArgumentException(
                $"Initializer '{name}' has {count} values but shape [{string.Join(", ", shape)}] holds {expected}.", nameof(shape));
    }

    private static ProtoMessage ValueInfo(string name, OnnxDimension[] shape, OnnxDataType elementType = OnnxDataType.Float)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var dims = new ProtoMessage();
        foreach (var d in shape)
        {
            if (d.Value is null && d.Parameter is null)
                throw new ArgumentException($"Value '{name}' has an uninitialised dimension; use OnnxDimension.Fixed or Symbolic.", nameof(shape));
            dims.Message(OnnxProto.Shape.Dim, d.Encode());
        }
        var tensorType = new ProtoMessage()
            .Int32(OnnxProto.TypeProto.TensorElemType, (int)elementType)
            .Message(OnnxProto.TypeProto.TensorShape, dims);
        var type = new ProtoMessage().Message(OnnxProto.TypeProto.TensorType, tensorType);
        return new ProtoMessage().String(OnnxProto.ValueInfo.Name, name).Message(OnnxProto.ValueInfo.Type, type);
    }

    private static long[] PerAxis(IReadOnlyList<long>? values, int spatial, long fallback, string parameter)
    {
        if (values is null) return Enumerable.Repeat(fallback, spatial).ToArray();
        if (values.Count != spatial || values.Any(v => v < 1))
            throw new ArgumentException($"{parameter} needs {spatial} positive values, got [{string.Join(", ", values)}].", parameter);
        return values.ToArray();
    }

    private void RequireDefined(string value, string role)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!_values.Contains(value))
            throw new ArgumentException($"ONNX value '{value}' ({role}) is not defined yet; add the graph input, initializer or producing node first.");
    }

    private void DefineExact(string name, string role)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException($"The {role} needs a name.", nameof(name));
        if (!_values.Add(name)) throw new ArgumentException($"Cannot name the {role} '{name}': the name is already used in the graph.", nameof(name));
    }

    private string DefineUnique(string hint)
    {
        if (string.IsNullOrWhiteSpace(hint)) hint = "value";
        string candidate = hint;
        for (int i = 1; !_values.Add(candidate); i++) candidate = $"{hint}_{i}";
        return candidate;
    }
}
