using Google.Protobuf;

namespace Sgnas.Onnx;

/// <summary>
/// Field numbers and enum values of the ONNX protobuf schema (onnx/onnx.proto, checked against the onnx/onnx
/// repository). The writer hand-encodes the few messages it needs, so the numbers live here in one place.
/// </summary>
internal static class OnnxProto
{
    internal static class Model
    {
        public const int IrVersion = 1, ProducerName = 2, ProducerVersion = 3, Graph = 7, OpsetImport = 8;
    }

    internal static class OperatorSetId
    {
        public const int Domain = 1, Version = 2;
    }

    internal static class Graph
    {
        public const int Node = 1, Name = 2, Initializer = 5, Input = 11, Output = 12, ValueInfo = 13;
    }

    internal static class Node
    {
        public const int Input = 1, Output = 2, Name = 3, OpType = 4, Attribute = 5, Domain = 7;
    }

    internal static class Attribute
    {
        public const int Name = 1, F = 2, I = 3, S = 4, T = 5, Floats = 7, Ints = 8, Strings = 9, Type = 20;
    }

    internal static class Tensor
    {
        public const int Dims = 1, DataType = 2, StringData = 6, Name = 8, RawData = 9;
    }

    internal static class ValueInfo
    {
        public const int Name = 1, Type = 2;
    }

    internal static class TypeProto
    {
        public const int TensorType = 1;
        public const int TensorElemType = 1, TensorShape = 2;
    }

    internal static class Shape
    {
        public const int Dim = 1;
        public const int DimValue = 1, DimParam = 2;
    }
}

/// <summary>TensorProto.DataType values this writer emits.</summary>
public enum OnnxDataType
{
    /// <summary>32-bit IEEE float (TensorProto.FLOAT = 1).</summary>
    Float = 1,

    /// <summary>64-bit signed integer (TensorProto.INT64 = 7).</summary>
    Int64 = 7,

    /// <summary>UTF-8 string (TensorProto.STRING = 8), stored in string_data rather than raw_data.</summary>
    String = 8,
}

/// <summary>
/// Builds one protobuf message in memory. Nested messages are encoded into their own buffer first because the
/// wire format prefixes them with their length; the models written here are small enough that the extra copy
/// per nesting level does not matter.
/// </summary>
internal sealed class ProtoMessage
{
    private readonly MemoryStream _buffer = new();
    private readonly CodedOutputStream _out;

    public ProtoMessage() => _out = new CodedOutputStream(_buffer, leaveOpen: true);

    public ProtoMessage String(int field, string value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteString(value);
        return this;
    }

    public ProtoMessage Bytes(int field, ReadOnlyMemory<byte> value)
    {
        _out.WriteTag(field, WireFormat.WireType.LengthDelimited);
        _out.WriteBytes(UnsafeByteOperations.UnsafeWrap(value));
        return this;
    }

    public ProtoMessage Int64(int field, long value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint);
        _out.WriteInt64(value);
        return this;
    }

    public ProtoMessage Int32(int field, int value)
    {
        _out.WriteTag(field, WireFormat.WireType.Varint);
        _out.WriteInt32(value);
        return this;
    }

    public ProtoMessage Float(int field, float value)
    {
        _out.WriteTag(field, WireFormat.WireType.Fixed32);
        _out.WriteFloat(value);
        return this;
    }

    /// <summary>
    /// Repeated int64, one tag per element: the ONNX schema is proto2 without [packed=true] on dims and ints,
    /// and unpacked is what proto2 readers expect (proto3 readers accept both).
    /// </summary>
    public ProtoMessage RepeatedInt64(int field, IEnumerable<long> values)
    {
        foreach (long v in values) Int64(field, v);
        return this;
    }

    /// <summary>Repeated float, unpacked for the same reason as <see cref="RepeatedInt64"/>.</summary>
    public ProtoMessage RepeatedFloat(int field, IEnumerable<float> values)
    {
        foreach (float v in values) Float(field, v);
        return this;
    }

    public ProtoMessage Message(int field, ProtoMessage nested) => Bytes(field, nested.ToMemory());

    public ReadOnlyMemory<byte> ToMemory()
    {
        _out.Flush();
        return _buffer.GetBuffer().AsMemory(0, (int)_buffer.Length);
    }
}
