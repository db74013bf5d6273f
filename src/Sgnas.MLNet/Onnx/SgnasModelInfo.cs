using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;

namespace Sgnas.MLNet.Onnx;

/// <summary>
/// What a saved SGNAS model is: architecture, exact FLOPs and parameters, preset, input size and class names. Written
/// into the ONNX model's <c>metadata_props</c> when the model is exported for ML.NET, so it travels inside
/// <c>model.onnx</c> and inside every ML.NET <c>.zip</c> that holds it, and <see cref="Read(string)"/> gets it back
/// from either file. Any ONNX tool shows the same entries (keys <c>sgnas.*</c>).
/// </summary>
public sealed record SgnasModelInfo
{
    /// <summary>Key prefix of the metadata entries.</summary>
    public const string KeyPrefix = "sgnas.";

    /// <summary>The architecture in text form.</summary>
    public required string Architecture { get; init; }
    /// <summary>Exact FLOPs (multiply-adds) in M.</summary>
    public required double FlopsM { get; init; }
    /// <summary>Parameters in M.</summary>
    public required double ParamsM { get; init; }
    /// <summary>Search-space preset name.</summary>
    public required string Preset { get; init; }
    /// <summary>Input channels (1 gray, 3 RGB).</summary>
    public required int InputChannels { get; init; }
    /// <summary>Input height and width in pixels (square).</summary>
    public required int InputSize { get; init; }
    /// <summary>Class names in class-index order.</summary>
    public required IReadOnlyList<string> ClassNames { get; init; }

    /// <summary>The metadata entries this record is stored as.</summary>
    public IReadOnlyDictionary<string, string> ToMetadata() => new Dictionary<string, string>
    {
        [KeyPrefix + "architecture"] = Architecture,
        [KeyPrefix + "flops_m"] = FlopsM.ToString("R", CultureInfo.InvariantCulture),
        [KeyPrefix + "params_m"] = ParamsM.ToString("R", CultureInfo.InvariantCulture),
        [KeyPrefix + "preset"] = Preset,
        [KeyPrefix + "input_channels"] = InputChannels.ToString(CultureInfo.InvariantCulture),
        [KeyPrefix + "input_size"] = InputSize.ToString(CultureInfo.InvariantCulture),
        [KeyPrefix + "class_names"] = JsonSerializer.Serialize(ClassNames),
    };

    /// <summary>Parses the entries written by <see cref="ToMetadata"/>.</summary>
    /// <exception cref="InvalidDataException">An entry is missing or malformed (the message names it).</exception>
    public static SgnasModelInfo FromMetadata(IReadOnlyDictionary<string, string> map, string source)
    {
        string Get(string key) => map.TryGetValue(KeyPrefix + key, out var v) ? v
            : throw new InvalidDataException($"'{source}' has no ONNX metadata entry '{KeyPrefix}{key}'; it was not exported by Sgnas.MLNet 0.1 or later.");
        double Num(string key) => double.TryParse(Get(key), NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d
            : throw new InvalidDataException($"ONNX metadata entry '{KeyPrefix}{key}' of '{source}' is not a number: '{Get(key)}'.");
        string[] names;
        try { names = JsonSerializer.Deserialize<string[]>(Get("class_names")) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new InvalidDataException($"ONNX metadata entry '{KeyPrefix}class_names' of '{source}' is not a JSON string array: {e.Message}", e); }
        return new SgnasModelInfo
        {
            Architecture = Get("architecture"), FlopsM = Num("flops_m"), ParamsM = Num("params_m"), Preset = Get("preset"),
            InputChannels = (int)Num("input_channels"), InputSize = (int)Num("input_size"), ClassNames = names,
        };
    }

    /// <summary>Reads the info of an ONNX model (<c>.onnx</c>) or of an ML.NET model (<c>.zip</c>) that holds one.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file holds no SGNAS ONNX model or its metadata is incomplete.</exception>
    public static SgnasModelInfo Read(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Model file '{path}' does not exist.", path);
        byte[] onnx = IsZip(path) ? OnnxBytesFromZip(path) : File.ReadAllBytes(path);
        return FromMetadata(ReadMetadata(onnx, path), path);
    }

    /// <summary>The <c>metadata_props</c> of an ONNX model, as ONNX Runtime reads them.</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(byte[] onnxModel, string source)
    {
        try
        {
            using var so = new SessionOptions { LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
            using var session = new InferenceSession(onnxModel, so);
            return new Dictionary<string, string>(session.ModelMetadata.CustomMetadataMap);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"'{source}' does not hold a valid ONNX model: {e.Message}", e);
        }
    }

    /// <summary>
    /// Adds <paramref name="entries"/> to the <c>metadata_props</c> of the ONNX model at <paramref name="onnxPath"/>
    /// (atomically). Protobuf merges a repeated field written after the others, so appending
    /// <c>ModelProto.metadata_props</c> (field 14) records to the serialized model adds entries without re-encoding it.
    /// </summary>
    public static void AppendMetadata(string onnxPath, IReadOnlyDictionary<string, string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var bytes = new List<byte>(File.ReadAllBytes(onnxPath));
        using var extra = new MemoryStream();
        using (var o = new CodedOutputStream(extra, leaveOpen: true))
        {
            foreach (var (key, value) in entries)
            {
                // StringStringEntryProto { string key = 1; string value = 2; }
                int entryLength = CodedOutputStream.ComputeStringSize(key) + CodedOutputStream.ComputeStringSize(value) + 2;
                o.WriteTag(14, WireFormat.WireType.LengthDelimited);
                o.WriteLength(entryLength);
                o.WriteTag(1, WireFormat.WireType.LengthDelimited);
                o.WriteString(key);
                o.WriteTag(2, WireFormat.WireType.LengthDelimited);
                o.WriteString(value);
            }
        }
        bytes.AddRange(extra.ToArray());
        string tmp = onnxPath + ".tmp";
        File.WriteAllBytes(tmp, bytes.ToArray());
        File.Move(tmp, onnxPath, overwrite: true);
    }

    private static bool IsZip(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> head = stackalloc byte[4];
        return f.Read(head) == 4 && head[0] == (byte)'P' && head[1] == (byte)'K' && head[2] == 3 && head[3] == 4;
    }

    /// <summary>
    /// The ONNX bytes inside an ML.NET .zip: ML.NET's ONNX transformer stores them in an entry named
    /// <c>OnnxModel</c>, as a byte array with a length prefix.
    /// </summary>
    private static byte[] OnnxBytesFromZip(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var entry = zip.Entries.FirstOrDefault(e => e.Name == "OnnxModel" || e.FullName.EndsWith("/OnnxModel", StringComparison.Ordinal))
            ?? throw new InvalidDataException($"ML.NET model '{path}' holds no ONNX model (no 'OnnxModel' entry; entries: {string.Join(", ", zip.Entries.Take(20).Select(e => e.FullName))}).");
        using var s = entry.Open();
        using var m = new MemoryStream();
        s.CopyTo(m);
        var all = m.ToArray();
        // The prefix is the byte count as Int32 or Int64 (ML.NET's binary writer); take whichever matches.
        if (all.Length >= 4 && BitConverter.ToInt32(all, 0) == all.Length - 4) return all[4..];
        if (all.Length >= 8 && BitConverter.ToInt64(all, 0) == all.Length - 8) return all[8..];
        return all;
    }
}
