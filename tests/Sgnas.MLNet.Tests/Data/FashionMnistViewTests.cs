using Microsoft.ML;
using Microsoft.ML.Data;
using Sgnas.Data;
using Sgnas.MLNet.Data;

namespace Sgnas.MLNet.Tests.Data;

/// <summary>Skips, with the reason, where Debian's dataset-fashion-mnist is not installed.</summary>
public sealed class FashionMnistFactAttribute : FactAttribute
{
    public FashionMnistFactAttribute()
    {
        if (!FashionMnist.IsAvailable(DatasetSplit.Test))
            Skip = $"Fashion-MNIST not found in {FashionMnist.DefaultFolder}; install Debian package dataset-fashion-mnist.";
    }
}

public class FashionMnistViewTests
{
    [FashionMnistFact]
    public void RealTestSetAsView()
    {
        var view = new MLContext().Data.LoadFromFashionMnist(DatasetSplit.Test);
        Assert.Equal(10000L, view.GetRowCount());
        Assert.Equal(new KeyDataViewType(typeof(uint), 10), view.Schema["Label"].Type);
        Assert.Equal(784, ((VectorDataViewType)view.Schema["Features"].Type).Size);
        var ds = view.ToImageDataset();
        Assert.All(ds.CountPerClass(), n => Assert.Equal(1000, n));
        Assert.Equal("T-shirt/top", ds.ClassNames[0]);
    }
}
