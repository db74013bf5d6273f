using Sgnas.Onnx;
using Sgnas.SearchSpace;

namespace Sgnas.Cost;

/// <summary>
/// The ONNX graphs of the latency probes, built with <see cref="OnnxGraphBuilder"/> from the same operators, in the
/// same order, that <see cref="ChildNetworkOnnxExporter"/> writes for a network (batch norms folded into conv biases,
/// ReLU6 as Clip, Split / per-group depthwise Conv / Concat, residual Add), with random weights. If the exporter's
/// graph changes, these must follow; the end-to-end validation (<see cref="LatencyValidation"/>) shows it when not.
/// </summary>
public static class LatencyProbeOnnx
{
    /// <summary>Name of every probe graph's input.</summary>
    public const string InputName = "input";
    /// <summary>Name of every probe graph's output.</summary>
    public const string OutputName = "output";

    /// <summary>The ONNX model bytes of <paramref name="probe"/> for <paramref name="preset"/> (batch 1).</summary>
    public static byte[] Build(SearchSpacePreset preset, LatencyProbe probe, int seed)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(probe);
        var rng = new Random(seed);
        var b = new OnnxGraphBuilder($"latency-{probe.Kind}".ToLowerInvariant());
        var shape = probe.InputShape(preset);
        string x = b.AddInput(InputName, shape.Select(d => (OnnxDimension)d).ToArray());
        var geo = preset.Geometry();
        string y;
        long[] outShape;
        switch (probe.Kind)
        {
            case LatencyProbeKind.Overhead:
                y = b.Identity(x, "copy");
                outShape = shape;
                break;
            case LatencyProbeKind.Stem:
            {
                long c0 = preset.InputChannels, cs = preset.StemChannels;
                string h = b.Relu6(Conv(b, rng, x, cs, c0, 3, preset.StemStride, 1, "stem.conv"));
                h = b.Relu6(Conv(b, rng, h, cs, cs, 3, 1, cs, "stem.first_dw"));
                y = Conv(b, rng, h, preset.FirstBlockChannels, cs, 1, 1, 1, "stem.first_pw");
                long s = preset.StemOutputSize;
                outShape = new long[] { 1, preset.FirstBlockChannels, s, s };
                break;
            }
            case LatencyProbeKind.Head:
            {
                long c = geo[^1].OutChannels, hc = preset.HeadChannels;
                string h = b.Relu6(Conv(b, rng, x, hc, c, 1, 1, 1, "head.conv"));
                h = b.Flatten(b.GlobalAveragePool(h, "head.pool"), name: "head.flatten");
                y = b.FullyConnected(h, Random(rng, (int)(preset.NumClasses * hc), hc), preset.NumClasses, hc,
                    Random(rng, preset.NumClasses, 1), "head.classifier");
                outShape = new long[] { 1, preset.NumClasses };
                break;
            }
            case LatencyProbeKind.Depthwise:
            {
                var g = geo[probe.Layer];
                y = Conv(b, rng, x, g.InChannels, g.InChannels, probe.Kernel, g.Stride, g.InChannels, "dw");
                outShape = new long[] { 1, g.InChannels, g.OutSize, g.OutSize };
                break;
            }
            case LatencyProbeKind.Layer:
            {
                var g = geo[probe.Layer];
                long c = g.InChannels; int e = probe.Expansion;
                string h = b.Relu6(Conv(b, rng, x, c * e, c, 1, 1, 1, "expand"));
                string[] groups = e == 1 ? new[] { h } : b.Split(h, 1, Enumerable.Repeat(c, e).ToArray(), "split");
                var outs = new string[e];
                for (int j = 0; j < e; j++) outs[j] = Conv(b, rng, groups[j], c, c, probe.Kernel, g.Stride, c, $"dw.{j}");
                h = b.Relu6(e == 1 ? outs[0] : b.Concat(1, outs, "concat"));
                y = Conv(b, rng, h, g.OutChannels, c * e, 1, 1, 1, "project");
                if (g.HasResidual) y = b.Add(y, x, "residual");
                outShape = new long[] { 1, g.OutChannels, g.OutSize, g.OutSize };
                break;
            }
            default: throw new ArgumentOutOfRangeException(nameof(probe), probe.Kind, "Unknown probe kind.");
        }
        b.AddOutput(y, OutputName, outShape.Select(d => (OnnxDimension)d).ToArray());
        return b.ToBytes();
    }

    private static string Conv(OnnxGraphBuilder b, Random rng, string x, long outC, long inC, int k, int stride, long groups, string name)
    {
        long perOut = inC / groups * k * k;
        var w = Random(rng, (int)(outC * perOut), perOut);
        var bias = Random(rng, (int)outC, 1);
        return b.Conv(x, w, new[] { outC, inC / groups, k, k }, bias, new long[] { stride, stride }, new long[] { k / 2, k / 2 }, groups, name: name);
    }

    // He-scaled normal weights: realistic magnitudes (no denormals, no overflow through the stack).
    private static float[] Random(Random rng, int n, long fanIn)
    {
        var a = new float[n];
        double std = Math.Sqrt(2.0 / Math.Max(1, fanIn));
        for (int i = 0; i < n; i++)
            a[i] = (float)(std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
        return a;
    }

    /// <summary>Random N(0, 1) input values for a probe's input shape.</summary>
    public static float[] RandomInput(long[] shape, int seed)
    {
        var rng = new Random(seed);
        return Random(rng, (int)shape.Aggregate(1L, (a, d) => a * d), 2);
    }
}
