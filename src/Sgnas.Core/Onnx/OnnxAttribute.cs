namespace Sgnas.Onnx;

/// <summary>
/// One named attribute of an ONNX node (AttributeProto). Create instances with the static factories; each sets the
/// type discriminator that ONNX IR version 2 and later require.
/// </summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(string name, OnnxAttributeKind kind)
    {
        if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("An ONNX attribute needs a name.", nameof(name));
        Name = name;
        Kind = kind;
    }

    /// <summary>Attribute name as the operator's schema spells it (e.g. <c>kernel_shape</c>).</summary>
    public string Name { get; }

    /// <summary>Which value field is in use.</summary>
    public OnnxAttributeKind Kind { get; }

    /// <summary>Value when <see cref="Kind"/> is <see cref="OnnxAttributeKind.Float"/>.</summary>
    public float FloatValue { get; private init; }

    /// <summary>Value when <see cref="Kind"/> is <see cref="OnnxAttributeKind.Int"/>.</summary>
    public long IntValue { get; private init; }

    /// <summary>Value when <see cref="Kind"/> is <see cref="OnnxAttributeKind.String"/>.</summary>
    public string? StringValue { get; private init; }

    /// <summary>Values when <see cref="Kind"/> is <see cref="OnnxAttributeKind.Floats"/>.</summary>
    public IReadOnlyList<float> FloatValues { get; private init; } = Array.Empty<float>();

    /// <summary>Values when <see cref="Kind"/> is <see cref="OnnxAttributeKind.Ints"/>.</summary>
    public IReadOnlyList<long> IntValues { get; private init; } = Array.Empty<long>();

    /// <summary>Values when <see cref="Kind"/> is <see cref="OnnxAttributeKind.Strings"/>.</summary>
    public IReadOnlyList<string> StringValues { get; private init; } = Array.Empty<string>();

    /// <summary>A single float attribute (e.g. HardSigmoid's <c>alpha</c>).</summary>
    public static OnnxAttribute Float(string name, float value) => new(name, OnnxAttributeKind.Float) { FloatValue = value };

    /// <summary>A single integer attribute (e.g. Conv's <c>group</c>).</summary>
    public static OnnxAttribute Int(string name, long value) => new(name, OnnxAttributeKind.Int) { IntValue = value };

    /// <summary>A UTF-8 string attribute (e.g. Conv's <c>auto_pad</c>).</summary>
    public static OnnxAttribute String(string name, string value) =>
        new(name, OnnxAttributeKind.String) { StringValue = value ?? throw new ArgumentNullException(nameof(value)) };

    /// <summary>A list of floats.</summary>
    public static OnnxAttribute Floats(string name, params float[] values) =>
        new(name, OnnxAttributeKind.Floats) { FloatValues = (float[])(values ?? throw new ArgumentNullException(nameof(values))).Clone() };

    /// <summary>A list of integers (e.g. Conv's <c>strides</c>).</summary>
    public static OnnxAttribute Ints(string name, params long[] values) =>
        new(name, OnnxAttributeKind.Ints) { IntValues = (long[])(values ?? throw new ArgumentNullException(nameof(values))).Clone() };

    /// <summary>A list of UTF-8 strings (e.g. LabelEncoder's <c>keys_strings</c>).</summary>
    public static OnnxAttribute Strings(string name, params string[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Any(v => v is null)) throw new ArgumentException($"Attribute '{name}' has a null string.", nameof(values));
        return new(name, OnnxAttributeKind.Strings) { StringValues = (string[])values.Clone() };
    }

    internal ProtoMessage Encode()
    {
        var m = new ProtoMessage().String(OnnxProto.Attribute.Name, Name);
        switch (Kind)
        {
            case OnnxAttributeKind.Float:
                m.Float(OnnxProto.Attribute.F, FloatValue);
                break;
            case OnnxAttributeKind.Int:
                m.Int64(OnnxProto.Attribute.I, IntValue);
                break;
            case OnnxAttributeKind.String:
                m.Bytes(OnnxProto.Attribute.S, System.Text.Encoding.UTF8.GetBytes(StringValue!));
                break;
            case OnnxAttributeKind.Floats:
                m.RepeatedFloat(OnnxProto.Attribute.Floats, FloatValues);
                break;
            case OnnxAttributeKind.Ints:
                m.RepeatedInt64(OnnxProto.Attribute.Ints, IntValues);
                break;
            case OnnxAttributeKind.Strings:
                foreach (string v in StringValues) m.Bytes(OnnxProto.Attribute.Strings, System.Text.Encoding.UTF8.GetBytes(v));
                break;
            default:
                throw new InvalidOperationException($"Unhandled attribute kind {Kind}.");
        }
        return m.Int32(OnnxProto.Attribute.Type, (int)Kind);
    }
}

/// <summary>AttributeProto.AttributeType values this writer emits (numbers as in onnx.proto).</summary>
public enum OnnxAttributeKind
{
    /// <summary>FLOAT = 1.</summary>
    Float = 1,

    /// <summary>INT = 2.</summary>
    Int = 2,

    /// <summary>STRING = 3.</summary>
    String = 3,

    /// <summary>FLOATS = 6.</summary>
    Floats = 6,

    /// <summary>INTS = 7.</summary>
    Ints = 7,

    /// <summary>STRINGS = 8.</summary>
    Strings = 8,
}

/// <summary>
/// One dimension of a graph input or output: a fixed size, or a symbolic name that the runtime binds per call
/// (a dynamic batch dimension).
/// </summary>
public readonly record struct OnnxDimension
{
    private OnnxDimension(long? value, string? parameter)
    {
        Value = value;
        Parameter = parameter;
    }

    /// <summary>Fixed size, or null for a symbolic dimension.</summary>
    public long? Value { get; }

    /// <summary>Symbolic name, or null for a fixed dimension.</summary>
    public string? Parameter { get; }

    /// <summary>A dimension of known size.</summary>
    public static OnnxDimension Fixed(long size) =>
        size > 0 ? new(size, null) : throw new ArgumentOutOfRangeException(nameof(size), size, "A fixed ONNX dimension must be positive.");

    /// <summary>A dimension whose size is chosen per call; equal names must have equal sizes.</summary>
    public static OnnxDimension Symbolic(string name) =>
        !string.IsNullOrWhiteSpace(name) ? new(null, name) : throw new ArgumentException("A symbolic dimension needs a name.", nameof(name));

    /// <summary>Implicit conversion so shapes can be written as plain sizes.</summary>
    public static implicit operator OnnxDimension(long size) => Fixed(size);

    /// <inheritdoc />
    public override string ToString() => Parameter ?? Value!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

    internal ProtoMessage Encode() => Parameter is null
        ? new ProtoMessage().Int64(OnnxProto.Shape.DimValue, Value!.Value)
        : new ProtoMessage().String(OnnxProto.Shape.DimParam, Parameter);
}
