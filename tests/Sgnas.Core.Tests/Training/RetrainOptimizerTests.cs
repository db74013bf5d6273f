using Sgnas.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Training;

/// <summary>TF-semantics RMSProp used for retraining.</summary>
public class RetrainOptimizerTests
{
    private static void Backward(Parameter p, float[] g)
    {
        using var gt = tensor(g);
        using var loss = (p * gt).sum();
        loss.backward();
    }

    [Fact]
    public void TwoStepsMatchTheTensorFlowUpdateByHand()
    {
        var p = new Parameter(tensor(new float[] { 1f, -2f }));
        using var opt = new TfRmsProp(new[] { p }, alpha: 0.9, eps: 1e-3, momentum: 0.9);
        var g = new[] { 0.5, 1.0 };
        double[] ms = { 1, 1 }, mom = { 0, 0 }, w = { 1, -2 };
        for (int step = 0; step < 2; step++)
        {
            opt.ZeroGrad();
            Backward(p, g.Select(v => (float)v).ToArray());
            opt.Step(0.1);
            for (int i = 0; i < 2; i++)
            {
                ms[i] = 0.9 * ms[i] + 0.1 * g[i] * g[i];        // starts at 1
                mom[i] = 0.9 * mom[i] + 0.1 * g[i] / Math.Sqrt(ms[i] + 1e-3);
                w[i] -= mom[i];
            }
            var got = p.detach().data<float>().ToArray();
            Assert.Equal(w[0], got[0], 5);
            Assert.Equal(w[1], got[1], 5);
        }
    }

    [Fact]
    public void SavedStateResumesTheSameTrajectory()
    {
        var a = new Parameter(tensor(new float[] { 1f, 2f, 3f }));
        var b = new Parameter(tensor(new float[] { 1f, 2f, 3f }));
        using var oa = new TfRmsProp(new[] { a });
        using var ob = new TfRmsProp(new[] { b });
        var g1 = new[] { 0.3f, -1f, 2f };
        var g2 = new[] { -0.7f, 0.2f, 1f };
        Backward(a, g1); oa.Step(0.05);
        Backward(b, g1); ob.Step(0.05);
        using var ms = new MemoryStream();
        oa.Save(ms);
        ms.Position = 0;
        var c = new Parameter(b.detach().clone());
        using var oc = new TfRmsProp(new[] { c });
        oc.Load(ms);
        oa.ZeroGrad(); Backward(a, g2); oa.Step(0.05);
        Backward(c, g2); oc.Step(0.05);
        Assert.True(a.allclose(c, rtol: 1e-6, atol: 1e-7));
        // a fresh optimizer (no state) ends elsewhere: the state matters
        var d = new Parameter(b.detach().clone());
        using var od = new TfRmsProp(new[] { d });
        Backward(d, g2); od.Step(0.05);
        Assert.False(a.allclose(d, rtol: 1e-6, atol: 1e-7));
        // state of another shape is refused
        using var other = new TfRmsProp(new[] { new Parameter(zeros(2)) });
        ms.Position = 0;
        Assert.Throws<InvalidDataException>(() => other.Load(ms));
    }
}
