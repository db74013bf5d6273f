using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.MLNet.Data;
using Sgnas.MLNet.Pipeline;

namespace Sgnas.MLNet.Tests.Estimators;

/// <summary>
/// Estimator conformance in the spirit of ML.NET's TestEstimatorCore: bad schemas fail in GetOutputSchema and in Fit
/// with messages naming the column role, and the predicted output schema lists the columns Transform adds.
/// </summary>
public class EstimatorSchemaTests
{
    private static readonly MLContext Ml = new(seed: 0);

    private sealed class Row
    {
        public uint Label { get; set; }
        [VectorType(28 * 28)] public float[] Features { get; set; } = new float[28 * 28];
    }

    private sealed class WrongRow
    {
        public float Label { get; set; }
        public string Features { get; set; } = "";
    }

    private static IDataView Good(int n = 4)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Label"].ColumnType = new KeyDataViewType(typeof(uint), 10);
        return Ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new Row { Label = (uint)(i % 10) }), schema);
    }

    private static IEnumerable<IEstimator<ITransformer>> ImageEstimators() => new IEstimator<ITransformer>[]
    {
        Ml.Transforms.SgnasSearch(new SgnasSearch.Options()),
        Ml.Transforms.SupernetTrainer(new SupernetTrainer.Options()),
        Ml.Transforms.ArchitectureRetrainer(new ArchitectureRetrainer.Options { Architecture = "e2:3,3|e2:3,3|e2:3,3|e2:3,3|e2:3,3|e2:3,3" }),
    };

    [Fact]
    public void OutputSchemaAddsScoreAndPredictedLabel()
    {
        var shape = SchemaChecks.ShapeOf(Good().Schema);
        foreach (var e in ImageEstimators())
        {
            var output = e.GetOutputSchema(shape);
            var score = SchemaChecks.Find(output, "Score")!.Value;
            Assert.Equal(SchemaShape.Column.VectorKind.Vector, score.Kind);
            Assert.Equal(NumberDataViewType.Single, score.ItemType);
            var predicted = SchemaChecks.Find(output, "PredictedLabel")!.Value;
            Assert.True(predicted.IsKey);
            Assert.NotNull(SchemaChecks.Find(output, "Features"));
        }
    }

    [Fact]
    public void MissingOrWrongColumnsFailInGetOutputSchemaAndFit()
    {
        var wrong = Ml.Data.LoadFromEnumerable(new[] { new WrongRow() });
        var shape = SchemaChecks.ShapeOf(wrong.Schema);
        foreach (var e in ImageEstimators())
        {
            var a = Assert.ThrowsAny<ArgumentException>(() => e.GetOutputSchema(shape));
            Assert.Contains("Features column 'Features'", a.Message);
            var b = Assert.ThrowsAny<ArgumentException>(() => e.Fit(wrong));
            Assert.Contains("Features column 'Features'", b.Message);
        }
        var noLabel = Ml.Transforms.DropColumns("Label").Fit(Good()).Transform(Good());
        foreach (var e in ImageEstimators())
        {
            var c = Assert.ThrowsAny<ArgumentException>(() => e.Fit(noLabel));
            Assert.Contains("Label column 'Label'", c.Message);
        }
    }

    [Fact]
    public void WrongImageSizeOrClassCountIsRejectedBeforeTraining()
    {
        var small = Ml.Data.LoadFromEnumerable(new[] { new SmallRow() });
        var e = Assert.ThrowsAny<ArgumentException>(() => Ml.Transforms.SgnasSearch(new SgnasSearch.Options()).Fit(small));
        Assert.Contains("784", e.Message);
    }

    private sealed class SmallRow
    {
        [KeyType(10)] public uint Label { get; set; } = 1;
        [VectorType(16)] public float[] Features { get; set; } = new float[16];
    }

    [Fact]
    public void ImpossibleBudgetIsRejectedWithTheFeasibleRange()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Ml.Transforms.SgnasSearch(targetFlopsM: 0.01));
        Assert.Contains("feasible range", e.Message);
    }

    [Fact]
    public void GeneratorTransformerNeedsANumericTargetColumn()
    {
        var shape = SchemaChecks.ShapeOf(Good().Schema);
        var est = Ml.Transforms.GeneratorSearch(new GeneratorSearch.Options { RunFolder = Path.GetTempPath() });
        var e = Assert.ThrowsAny<ArgumentException>(() => est.GetOutputSchema(shape));
        Assert.Contains("Target column 'TargetFlopsM'", e.Message);
        Assert.Throws<ArgumentException>(() => Ml.Transforms.GeneratorSearch(new GeneratorSearch.Options()));
    }
}

public class EstimatorChainSchemaTests
{
    private sealed class Row
    {
        public uint Label { get; set; }
        [VectorType(28 * 28)] public float[] Features { get; set; } = new float[28 * 28];
    }

    [Fact]
    public void KeyToValueOnBothKeysValidatesAroundSgnasSearchInAChain()
    {
        var ml = new MLContext(0);
        var data = ml.Data.LoadFromEnumerable(new[] { new Row { Label = 1 } }, KeyedSchema());
        var chain = ml.Transforms.Conversion.MapKeyToValue("TrueClass", "Label")
            .Append(ml.Transforms.SgnasSearch(new SgnasSearch.Options()))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel"))
            .Append(ml.Transforms.Conversion.MapKeyToValue("LabelAgain", "Label"));
        var output = chain.GetOutputSchema(SchemaChecks.ShapeOf(data.Schema));
        Assert.NotNull(SchemaChecks.Find(output, "PredictedClass"));
        Assert.NotNull(SchemaChecks.Find(output, "LabelAgain"));
    }

    private static SchemaDefinition KeyedSchema()
    {
        var s = SchemaDefinition.Create(typeof(Row));
        s["Label"].ColumnType = new KeyDataViewType(typeof(uint), 10);
        var names = new VBuffer<ReadOnlyMemory<char>>(10, Enumerable.Range(0, 10).Select(i => $"c{i}".AsMemory()).ToArray());
        s["Label"].AddAnnotation("KeyValues", names, new VectorDataViewType(TextDataViewType.Instance, 10));
        return s;
    }
}
