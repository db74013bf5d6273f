using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;
using Sgnas.MLNet.Data;

namespace Sgnas.MLNet.Tests.Data;

public class ConverterTests
{
    private sealed class Row
    {
        public string Name { get; set; } = "";
        public float[] Pixels { get; set; } = [];
        public uint Cls { get; set; }
    }

    private static IDataView View(MLContext ml, float[][] pixels, int size, bool keyLabel = true)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Pixels"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, size);
        if (keyLabel) schema["Cls"].ColumnType = new KeyDataViewType(typeof(uint), 3);
        var rows = pixels.Select((p, i) => new Row { Name = $"r{i}", Pixels = p, Cls = (uint)(i % 3) });
        return ml.Data.LoadFromEnumerable(rows, schema);
    }

    [Fact]
    public void MissingColumnListsTheColumns()
    {
        var ml = new MLContext();
        var view = View(ml, [new float[4]], 4);
        var e = Assert.Throws<ArgumentException>(() => view.ToImageDataset("Cls"));
        Assert.Contains("column 'Features' not found", e.Message);
        Assert.Contains("'Pixels'", e.Message);
        e = Assert.Throws<ArgumentException>(() => view.ToImageDataset(featuresColumn: "Pixels"));
        Assert.Contains("column 'Label' not found", e.Message);
    }

    [Fact]
    public void WrongTypesAreNamed()
    {
        var ml = new MLContext();
        var view = View(ml, [new float[4]], 4, keyLabel: false);
        var e = Assert.Throws<ArgumentException>(() => view.ToImageDataset("Cls", "Pixels"));
        Assert.Contains("column 'Cls' must be a key type over UInt32", e.Message);

        var keyed = View(ml, [new float[4]], 4);
        e = Assert.Throws<ArgumentException>(() => keyed.ToImageDataset("Cls", "Name"));
        Assert.Equal("column 'Name' must be a known-size vector of Single of length C*H*W; got String. (Parameter 'featuresColumn')", e.Message);
    }

    [Fact]
    public void ShapeIsInferredForSquaresOrGiven()
    {
        var ml = new MLContext();
        Assert.Equal((1, 2, 2), Shape(View(ml, [new float[4]], 4).ToImageDataset("Cls", "Pixels")));
        Assert.Equal((3, 2, 2), Shape(View(ml, [new float[12]], 12).ToImageDataset("Cls", "Pixels")));
        var odd = View(ml, [new float[6]], 6);
        Assert.Contains("pass the shape", Assert.Throws<ArgumentException>(() => odd.ToImageDataset("Cls", "Pixels")).Message);
        Assert.Equal((1, 2, 3), Shape(odd.ToImageDataset("Cls", "Pixels", new ImageShape(1, 2, 3))));
        Assert.Contains("does not match", Assert.Throws<ArgumentException>(() => odd.ToImageDataset("Cls", "Pixels", new ImageShape(1, 2, 2))).Message);

        static (int, int, int) Shape(ImageDataset d) => (d.Channels, d.Height, d.Width);
    }

    [Fact]
    public void NormalizedValuesAreRejectedWithRowAndSlot()
    {
        var ml = new MLContext();
        var view = View(ml, [[0, 1, 2, 3], [0, 1, -0.7f, 3]], 4);
        var e = Assert.Throws<InvalidDataException>(() => view.ToImageDataset("Cls", "Pixels"));
        Assert.Contains("row 1, column 'Pixels', slot 2", e.Message);
        Assert.Contains("[0, 255]", e.Message);
    }

    [Fact]
    public void RoundTripThroughViewKeepsEverything()
    {
        var px = Enumerable.Range(0, 2 * 3 * 2 * 2).Select(i => (byte)(i * 9)).ToArray();
        var ds = new ImageDataset(px, 3, 2, 2, [1, 0], 2, ["x", "y"]);
        var back = new MLContext().Data.LoadFromImageDataset(ds).ToImageDataset();
        Assert.Equal(ds.Pixels, back.Pixels);
        Assert.Equal(ds.Labels, back.Labels);
        Assert.Equal(ds.ClassNames, back.ClassNames);
    }
}
