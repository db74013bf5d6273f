using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Onnx;

namespace Sgnas.Predict;

/// <summary>
/// Loads an SGNAS model.zip with ML.NET only and predicts. Usage:
/// <code>
/// dotnet run --project examples/Sgnas.Predict -- --model model.zip --idx /usr/share/datasets/fashion-mnist [--split test|train] [--count N]
/// dotnet run --project examples/Sgnas.Predict -- --model model.zip --input images.json [--json]
/// dotnet run --project examples/Sgnas.Predict -- --model model.zip --bench [--idx DIR] [--repeat 200] [--batch 1000]
/// </code>
/// <c>images.json</c> is <c>{"features": [[D raw pixel values], ...]}</c> (C·H·W order, 0..255); <c>--json</c> writes
/// <c>{"scores": [[K probabilities], ...], "predictedLabels": [class index, ...], "classNames": [...]}</c> to stdout.
/// </summary>
public static class Program
{
    private const string Usage =
        "usage: Sgnas.Predict --model model.zip (--idx DIR [--split test|train] [--count N] | --input images.json) [--json] [--bench [--repeat N] [--batch N]]";

    public static int Main(string[] args)
    {
        try
        {
            var a = Options.Parse(args);
            var ml = new MLContext(seed: 0);
            // Model.Load finds ML.NET components by the assemblies registered with the catalog; the ONNX
            // transformer lives in its own assembly, which this app references only through this type.
            ml.ComponentCatalog.RegisterAssembly(typeof(OnnxTransformer).Assembly);
            ITransformer model;
            DataViewSchema inputSchema;
            try { model = ml.Model.Load(a.Model, out inputSchema); }
            catch (Exception e) when (e is FormatException or InvalidDataException or IOException or InvalidOperationException
                                          or ArgumentException or NullReferenceException
                                          or IndexOutOfRangeException or EndOfStreamException)
            {
                // A damaged or truncated .zip fails deep inside ML.NET with exceptions that name neither the file nor the cause.
                throw new InvalidDataException($"'{a.Model}' is not a readable ML.NET model (.zip damaged or truncated?): {e.Message.Split('\n')[0]}", e);
            }
            var info = ModelInfo.Read(model, inputSchema, a.Model);

            Images images = a.Idx is not null ? Idx.Read(a.Idx, a.Split, a.Count, info.FeatureCount)
                : a.Input is not null ? Images.ReadJson(a.Input, info.FeatureCount)
                : a.Bench ? Images.Random(Math.Max(a.Batch, 1), info.FeatureCount, seed: 1)
                : throw new UsageException("give --idx DIR, --input FILE or --bench.");

            if (a.Bench) return Bench.Run(ml, model, info, images, a);
            return a.Json ? PrintJson(ml, model, info, images) : PrintText(ml, model, info, images);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException or JsonException or ArgumentException
                                      or InvalidOperationException or FormatException)
        {
            Console.Error.WriteLine($"error: {e.Message.Split('\n')[0]}");
            return 1;
        }
    }

    private static (float[][] Scores, uint[] Predicted) Score(MLContext ml, ITransformer model, ModelInfo info, Images images)
    {
        var scored = model.Transform(images.ToDataView(ml, info));
        var rows = ml.Data.CreateEnumerable<Prediction>(scored, reuseRowObject: false).ToArray();
        return (rows.Select(r => r.Score).ToArray(), rows.Select(r => r.PredictedLabel).ToArray());
    }

    private static int PrintJson(MLContext ml, ITransformer model, ModelInfo info, Images images)
    {
        var (scores, predicted) = Score(ml, model, info, images);
        var doc = new
        {
            scores,
            // Keys are 1-based (0 = missing); the JSON carries class indices.
            predictedLabels = predicted.Select(p => (int)p - 1).ToArray(),
            classNames = info.ClassNames,
        };
        Console.WriteLine(JsonSerializer.Serialize(doc));
        return 0;
    }

    private static int PrintText(MLContext ml, ITransformer model, ModelInfo info, Images images)
    {
        var (scores, predicted) = Score(ml, model, info, images);
        int shown = Math.Min(10, scores.Length);
        for (int i = 0; i < shown; i++)
        {
            int k = (int)predicted[i] - 1;
            string truth = images.Labels is { } l ? $"  (label {info.ClassNames[l[i]]})" : "";
            Console.WriteLine($"#{i}: {info.ClassNames[k]}  p={scores[i][k]:F3}{truth}");
        }
        if (scores.Length > shown) Console.WriteLine($"... {scores.Length - shown} more");
        if (images.Labels is not null)
        {
            // ML.NET's own evaluator on the loaded model: Label is a key with K values, as in training data.
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(images.ToDataView(ml, info, withLabels: true)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"images {scores.Length}  accuracy {metrics.MicroAccuracy:F4}  macro-accuracy {metrics.MacroAccuracy:F4}  log-loss {metrics.LogLoss:F4}"));
            Console.WriteLine(metrics.ConfusionMatrix.GetFormattedConfusionTable());
        }
        return 0;
    }

    /// <summary>Output row: the columns every SGNAS model.zip produces.</summary>
    internal sealed class Prediction
    {
        public float[] Score { get; set; } = Array.Empty<float>();

        public uint PredictedLabel { get; set; }
    }
}

/// <summary>What the loaded model takes and returns.</summary>
internal sealed record ModelInfo(int FeatureCount, int ClassCount, string[] ClassNames)
{
    public static ModelInfo Read(ITransformer model, DataViewSchema inputSchema, string path)
    {
        var features = inputSchema.GetColumnOrNull("Features")
            ?? throw new InvalidDataException($"'{path}' was saved without a 'Features' input column.");
        if (features.Type is not VectorDataViewType { Size: > 0 } v || v.ItemType != NumberDataViewType.Single)
            throw new InvalidDataException($"'{path}': input column 'Features' is {features.Type}, not a known-size Single vector.");
        var output = model.GetOutputSchema(inputSchema);
        var predicted = output.GetColumnOrNull("PredictedLabel")
            ?? throw new InvalidDataException($"'{path}' has no 'PredictedLabel' output; is it an SGNAS model.zip?");
        if (predicted.Type is not KeyDataViewType key)
            throw new InvalidDataException($"'{path}': PredictedLabel is {predicted.Type}, not a key.");
        int k = (int)key.Count;
        var names = Enumerable.Range(0, k).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (predicted.Annotations.Schema.GetColumnOrNull("KeyValues") is not null)
        {
            VBuffer<ReadOnlyMemory<char>> values = default;
            predicted.Annotations.GetValue("KeyValues", ref values);
            names = values.DenseValues().Select(m => m.ToString()).ToArray();
        }
        return new ModelInfo(v.Size, k, names);
    }
}

/// <summary>Images as raw pixel rows, with labels when known.</summary>
internal sealed class Images
{
    public Images(float[][] features, int[]? labels)
    {
        Features = features;
        Labels = labels;
    }

    public float[][] Features { get; }

    public int[]? Labels { get; }

    public IDataView ToDataView(MLContext ml, ModelInfo info, bool withLabels = false)
    {
        // The vector size is only known at run time, so the schema is given explicitly.
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, info.FeatureCount);
        schema["Label"].ColumnType = new KeyDataViewType(typeof(uint), info.ClassCount);
        // LoadFromEnumerable reads a key member as the 0-based index and stores index + 1 (0 stays "missing" only for
        // views built otherwise); CreateEnumerable, in contrast, returns the raw 1-based key (see Prediction).
        var rows = Features.Select((f, i) => new Row { Features = f, Label = withLabels && Labels is not null ? (uint)Labels[i] : 0 });
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    public static Images ReadJson(string path, int featureCount)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(path));
        if (!doc.RootElement.TryGetProperty("features", out var rows) || rows.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"'{path}' must be a JSON object with a \"features\" array of pixel arrays.");
        var features = new List<float[]>();
        int? labelCount = null;
        foreach (var row in rows.EnumerateArray())
        {
            var f = row.EnumerateArray().Select(e => e.GetSingle()).ToArray();
            if (f.Length != featureCount)
                throw new InvalidDataException($"'{path}': image {features.Count} has {f.Length} values; the model takes {featureCount}.");
            features.Add(f);
        }
        int[]? labels = null;
        if (doc.RootElement.TryGetProperty("labels", out var l))
        {
            labels = l.EnumerateArray().Select(e => e.GetInt32()).ToArray();
            labelCount = labels.Length;
        }
        if (labelCount is int n && n != features.Count)
            throw new InvalidDataException($"'{path}' has {features.Count} images but {n} labels.");
        return new Images(features.ToArray(), labels);
    }

    public static Images Random(int count, int featureCount, int seed)
    {
        var rng = new System.Random(seed);
        var features = new float[count][];
        for (int i = 0; i < count; i++)
        {
            features[i] = new float[featureCount];
            for (int j = 0; j < featureCount; j++) features[i][j] = rng.Next(256);
        }
        return new Images(features, null);
    }

    internal sealed class Row
    {
        public float[] Features { get; set; } = Array.Empty<float>();

        public uint Label { get; set; }
    }
}

/// <summary>Reads IDX image/label files (MNIST, Fashion-MNIST), plain or gzipped.</summary>
internal static class Idx
{
    public static Images Read(string folder, string split, int? count, int featureCount)
    {
        string prefix = split switch
        {
            "test" => "t10k",
            "train" => "train",
            _ => throw new UsageException($"--split must be test or train, got '{split}'."),
        };
        string images = Find(folder, $"{prefix}-images-idx3-ubyte");
        string labels = Find(folder, $"{prefix}-labels-idx1-ubyte");
        using var img = Open(images);
        using var lab = Open(labels);
        if (ReadInt(img, images) != 0x803) throw new InvalidDataException($"'{images}' is not an IDX image file (magic 0x803).");
        int n = ReadInt(img, images), rows = ReadInt(img, images), cols = ReadInt(img, images);
        if (ReadInt(lab, labels) != 0x801) throw new InvalidDataException($"'{labels}' is not an IDX label file (magic 0x801).");
        if (ReadInt(lab, labels) != n) throw new InvalidDataException($"'{images}' and '{labels}' hold different numbers of items.");
        if (rows * cols != featureCount)
            throw new InvalidDataException($"'{images}' holds {rows}x{cols} images; the model takes {featureCount} values per image.");
        int take = Math.Min(n, count ?? n);
        var features = new float[take][];
        var buffer = new byte[rows * cols];
        var y = new int[take];
        for (int i = 0; i < take; i++)
        {
            img.ReadExactly(buffer);
            features[i] = Array.ConvertAll(buffer, b => (float)b);
            int label = lab.ReadByte();
            if (label < 0) throw new InvalidDataException($"'{labels}' is truncated.");
            y[i] = label;
        }
        return new Images(features, y);
    }

    private static string Find(string folder, string stem)
    {
        foreach (string name in new[] { stem, stem + ".gz" })
        {
            string p = Path.Combine(folder, name);
            if (File.Exists(p)) return p;
        }
        throw new FileNotFoundException($"No {stem}[.gz] in '{folder}'.");
    }

    private static Stream Open(string path)
    {
        Stream s = File.OpenRead(path);
        return path.EndsWith(".gz", StringComparison.Ordinal) ? new BufferedStream(new GZipStream(s, CompressionMode.Decompress), 1 << 16) : s;
    }

    private static int ReadInt(Stream s, string path)
    {
        Span<byte> b = stackalloc byte[4];
        try { s.ReadExactly(b); }
        catch (EndOfStreamException) { throw new InvalidDataException($"'{path}' is truncated."); }
        return System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(b);
    }
}

/// <summary>Latency of one prediction (PredictionEngine) and throughput of a batch (Transform).</summary>
internal static class Bench
{
    public static int Run(MLContext ml, ITransformer model, ModelInfo info, Images images, Options a)
    {
        var inputSchema = SchemaDefinition.Create(typeof(Images.Row));
        inputSchema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, info.FeatureCount);
        inputSchema["Label"].ColumnType = new KeyDataViewType(typeof(uint), info.ClassCount);
        using var engine = ml.Model.CreatePredictionEngine<Images.Row, Program.Prediction>(model, inputSchemaDefinition: inputSchema);

        var rows = images.Features.Select(f => new Images.Row { Features = f }).ToArray();
        for (int i = 0; i < Math.Min(20, a.Repeat); i++) engine.Predict(rows[i % rows.Length]); // warm-up (session, JIT)
        var times = new double[a.Repeat];
        for (int i = 0; i < a.Repeat; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            engine.Predict(rows[i % rows.Length]);
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
        }
        Array.Sort(times);

        var batch = images.Features.Length >= a.Batch ? new Images(images.Features[..a.Batch], null) : Images.Random(a.Batch, info.FeatureCount, 2);

        // The same batch one image after another through the engine: the single-thread ceiling of row-by-row scoring.
        var batchRows = batch.Features.Select(f => new Images.Row { Features = f }).ToArray();
        long e0 = Stopwatch.GetTimestamp();
        foreach (var row in batchRows) engine.Predict(row);
        double engineSeconds = Stopwatch.GetElapsedTime(e0).TotalSeconds;

        var view = batch.ToDataView(ml, info);
        Consume(model.Transform(new Images(batch.Features[..Math.Min(32, a.Batch)], null).ToDataView(ml, info))); // warm-up
        long b0 = Stopwatch.GetTimestamp();
        int n = Consume(model.Transform(view));
        double seconds = Stopwatch.GetElapsedTime(b0).TotalSeconds;

        var result = new
        {
            features = info.FeatureCount,
            classes = info.ClassCount,
            repeat = a.Repeat,
            latencyMedianMs = Percentile(times, 0.5),
            latencyP90Ms = Percentile(times, 0.9),
            batch = n,
            batchSeconds = seconds,
            imagesPerSecond = n / seconds,
            engineImagesPerSecond = batchRows.Length / engineSeconds,
            processorCount = Environment.ProcessorCount,
        };
        if (a.Json) Console.WriteLine(JsonSerializer.Serialize(result));
        else
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"PredictionEngine latency: median {result.latencyMedianMs:F3} ms, p90 {result.latencyP90Ms:F3} ms over {a.Repeat} single images\n" +
                $"Transform throughput: {n} images in {seconds:F3} s = {result.imagesPerSecond:F0} images/s ({Environment.ProcessorCount} logical cores)\n" +
                $"PredictionEngine loop over the same {batchRows.Length} images: {result.engineImagesPerSecond:F0} images/s"));
        return 0;
    }

    /// <summary>Reads every Score and PredictedLabel value (a view is lazy: nothing is scored until read).</summary>
    private static int Consume(IDataView scored)
    {
        var score = scored.Schema["Score"];
        var label = scored.Schema["PredictedLabel"];
        using var cursor = scored.GetRowCursor(new[] { score, label });
        var getScore = cursor.GetGetter<VBuffer<float>>(score);
        var getLabel = cursor.GetGetter<uint>(label);
        VBuffer<float> s = default;
        uint l = 0;
        int n = 0;
        while (cursor.MoveNext())
        {
            getScore(ref s);
            getLabel(ref l);
            n++;
        }
        return n;
    }

    private static double Percentile(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)Math.Floor(q * (sorted.Length - 1) + 0.5))];
}

/// <summary>Command-line options.</summary>
internal sealed record Options(string Model, string? Idx, string Split, int? Count, string? Input, bool Json, bool Bench, int Repeat, int Batch)
{
    public static Options Parse(string[] args)
    {
        string? model = null, idx = null, input = null, split = "test";
        int? count = null;
        bool json = false, bench = false;
        int repeat = 200, batch = 1000;
        for (int i = 0; i < args.Length; i++)
        {
            string Value() => i + 1 < args.Length ? args[++i] : throw new UsageException($"{args[i]} needs a value.");
            int Int()
            {
                string name = args[i], v = Value();
                return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n) && n > 0
                    ? n : throw new UsageException($"{name} must be a positive integer, got '{v}'.");
            }
            switch (args[i])
            {
                case "--model": model = Value(); break;
                case "--idx": idx = Value(); break;
                case "--split": split = Value(); break;
                case "--count": count = Int(); break;
                case "--input": input = Value(); break;
                case "--json": json = true; break;
                case "--bench": bench = true; break;
                case "--repeat": repeat = Int(); break;
                case "--batch": batch = Int(); break;
                default: throw new UsageException($"unknown option '{args[i]}'.");
            }
        }
        if (model is null) throw new UsageException("--model is required.");
        if (idx is not null && input is not null) throw new UsageException("give either --idx or --input, not both.");
        return new Options(model, idx, split, count, input, json, bench, repeat, batch);
    }
}

internal sealed class UsageException(string message) : Exception(message);
