using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.SearchSpace;

namespace Sgnas.MLNet.Pipeline;

/// <summary>
/// Input validation shared by the estimators (ML.NET convention: <c>GetOutputSchema</c> and <c>Fit</c> reject a
/// bad schema before any row is read, naming the column role and the expected type).
/// </summary>
internal static class SchemaChecks
{
    /// <summary>Checks the image columns of a schema shape against a preset.</summary>
    public static void CheckImageColumns(SchemaShape input, string labelColumn, string featureColumn, SearchSpacePreset preset, bool needLabel)
    {
        int features = preset.InputChannels * preset.InputSize * preset.InputSize;
        if (Find(input, featureColumn) is not { } f)
            throw new ArgumentOutOfRangeException(nameof(input), $"Features column '{featureColumn}' not found: the estimator needs a " +
                $"known-size vector of Single with {features} raw pixel values ({preset.InputChannels}×{preset.InputSize}×{preset.InputSize}, CHW).");
        if (f.Kind != SchemaShape.Column.VectorKind.Vector || f.ItemType != NumberDataViewType.Single)
            throw new ArgumentOutOfRangeException(nameof(input),
                $"Features column '{featureColumn}' must be a known-size vector of Single ({features} values for preset '{preset.Name}'); it is {Describe(f)}.");
        if (!needLabel) return;
        if (Find(input, labelColumn) is not { } l)
            throw new ArgumentOutOfRangeException(nameof(input), $"Label column '{labelColumn}' not found: the estimator needs a key-typed label " +
                "(use mlContext.Transforms.Conversion.MapValueToKey, or the Sgnas loaders which produce one).");
        if (!l.IsKey || l.Kind != SchemaShape.Column.VectorKind.Scalar)
            throw new ArgumentOutOfRangeException(nameof(input), $"Label column '{labelColumn}' must be a scalar key type; it is {Describe(l)}.");
    }

    /// <summary>Checks the image columns of a concrete schema (in <c>Fit</c>) including the vector length.</summary>
    public static void CheckImageColumns(DataViewSchema schema, string labelColumn, string featureColumn, SearchSpacePreset preset, bool needLabel)
    {
        CheckImageColumns(ShapeOf(schema), labelColumn, featureColumn, preset, needLabel);
        int features = preset.InputChannels * preset.InputSize * preset.InputSize;
        var size = ((VectorDataViewType)schema[featureColumn].Type).Size;
        if (size != features)
            throw new ArgumentOutOfRangeException(nameof(schema), $"Features column '{featureColumn}' has {size} values; preset '{preset.Name}' " +
                $"takes {preset.InputChannels}×{preset.InputSize}×{preset.InputSize} = {features}. Resize the images or choose another preset.");
        if (needLabel && schema[labelColumn].Type is KeyDataViewType key && (long)key.Count != preset.NumClasses)
            throw new ArgumentOutOfRangeException(nameof(schema),
                $"Label column '{labelColumn}' has {key.Count} classes; preset '{preset.Name}' has {preset.NumClasses}.");
    }

    /// <summary>
    /// The output shape of a classifier: the input plus <c>Score</c> (vector of Single) and <c>PredictedLabel</c> (key).
    /// <see cref="SchemaShape.Column"/> has no public constructor, so the shape is built from a schema.
    /// </summary>
    public static SchemaShape AddClassifierColumns(SchemaShape input, int classCount, string scoreColumn = "Score", string predictedLabelColumn = "PredictedLabel")
    {
        var b = new DataViewSchema.Builder();
        foreach (var c in input)
            if (c.Name != scoreColumn && c.Name != predictedLabelColumn) b.AddColumn(c.Name, TypeOf(c), AnnotationsOf(c));
        // The real chain names the score slots and the predicted keys after the classes; the shape carries the kinds,
        // so MapKeyToValue(PredictedLabel) and friends validate in an EstimatorChain before Fit.
        b.AddColumn(scoreColumn, new VectorDataViewType(NumberDataViewType.Single, classCount), TextVectorAnnotation(AnnotationUtils.SlotNames, classCount));
        b.AddColumn(predictedLabelColumn, new KeyDataViewType(typeof(uint), classCount), TextVectorAnnotation(AnnotationUtils.KeyValues, classCount));
        return ShapeOf(b.ToSchema());
    }

    /// <summary>Adds scalar columns (name, type) to a shape.</summary>
    public static SchemaShape AddColumns(SchemaShape input, params (string Name, DataViewType Type)[] columns)
    {
        var b = new DataViewSchema.Builder();
        foreach (var c in input)
            if (columns.All(n => n.Name != c.Name)) b.AddColumn(c.Name, TypeOf(c), AnnotationsOf(c));
        foreach (var (name, type) in columns) b.AddColumn(name, type);
        return ShapeOf(b.ToSchema());
    }

    /// <summary>The last column of that name (later columns hide earlier ones, as in ML.NET).</summary>
    public static SchemaShape.Column? Find(SchemaShape shape, string name)
    {
        SchemaShape.Column? found = null;
        foreach (var c in shape) if (c.Name == name) found = c;
        return found;
    }

    // ML.NET keeps SchemaShape.Create(DataViewSchema) and SchemaShape.Column's constructor internal, yet estimators
    // must return shapes; the factory is looked up once and a missing one is reported plainly.
    private static readonly Func<DataViewSchema, SchemaShape> CreateShape = BindCreate();

    private static Func<DataViewSchema, SchemaShape> BindCreate()
    {
        var m = typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public |
            System.Reflection.BindingFlags.NonPublic, new[] { typeof(DataViewSchema) });
        if (m is null) return _ => throw new NotSupportedException("This ML.NET version has no SchemaShape.Create(DataViewSchema).");
        return m.CreateDelegate<Func<DataViewSchema, SchemaShape>>();
    }

    /// <summary>The shape of a concrete schema.</summary>
    public static SchemaShape ShapeOf(DataViewSchema schema) => CreateShape(schema);

    private static class AnnotationUtils
    {
        public const string SlotNames = "SlotNames", KeyValues = "KeyValues";
    }

    private static DataViewSchema.Annotations TextVectorAnnotation(string kind, int size)
    {
        var ab = new DataViewSchema.Annotations.Builder();
        AddTextVector(ab, kind, size);
        return ab.ToAnnotations();
    }

    private static void AddTextVector(DataViewSchema.Annotations.Builder ab, string kind, int size)
    {
        ValueGetter<VBuffer<ReadOnlyMemory<char>>> get = (ref VBuffer<ReadOnlyMemory<char>> v) =>
            v = new VBuffer<ReadOnlyMemory<char>>(size, Enumerable.Range(0, size).Select(i => i.ToString().AsMemory()).ToArray());
        ab.Add(kind, new VectorDataViewType(TextDataViewType.Instance, size), get);
    }

    // Carries the annotation kinds a downstream estimator checks (key values of keys, slot names of vectors) into the
    // rebuilt schema; the values are placeholders of the right type, as a shape holds no values.
    private static DataViewSchema.Annotations? AnnotationsOf(SchemaShape.Column c)
    {
        if (c.Annotations is null) return null;
        var ab = new DataViewSchema.Annotations.Builder();
        bool any = false;
        foreach (var a in c.Annotations)
        {
            if (a.ItemType is not TextDataViewType || a.Kind != SchemaShape.Column.VectorKind.Vector) continue;
            int size = (a.Name == AnnotationUtils.KeyValues && c.IsKey) || a.Name == AnnotationUtils.SlotNames ? 1 : 0;
            if (size <= 0) continue;
            AddTextVector(ab, a.Name, size);
            any = true;
        }
        return any ? ab.ToAnnotations() : null;
    }

    // A shape column only knows its kind, so a known-size vector gets a placeholder length of 1.
    private static DataViewType TypeOf(SchemaShape.Column c)
    {
        // A shape's key column reports its raw type with IsKey set and no count: a one-value key stands in.
        var item = c.IsKey ? new KeyDataViewType(c.ItemType.RawType, 1) : (PrimitiveDataViewType)c.ItemType;
        return c.Kind switch
        {
            SchemaShape.Column.VectorKind.Scalar => item,
            SchemaShape.Column.VectorKind.Vector => new VectorDataViewType(item, 1),
            _ => new VectorDataViewType(item),
        };
    }

    private static string Describe(SchemaShape.Column c) =>
        $"{c.Kind} of {c.ItemType}{(c.IsKey ? " (key)" : "")}";
}
