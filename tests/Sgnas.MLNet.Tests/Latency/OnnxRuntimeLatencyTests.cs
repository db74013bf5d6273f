using Sgnas.Cost;
using Sgnas.MLNet.Latency;
using Sgnas.MLNet.Onnx;
using Sgnas.SearchSpace;

namespace Sgnas.MLNet.Tests.Latency;

/// <summary>The latency probes and the measurement pipeline in ONNX Runtime (no timing assertions: docs/latency.md).</summary>
public class OnnxRuntimeLatencyTests
{
    [Fact]
    public void EveryProbeGraphRunsInOnnxRuntimeWithTheShapesOfTheNetworkItStandsFor()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var geo = p.Geometry();
        foreach (var probe in LatencyProbe.All(p))
        {
            var shape = probe.InputShape(p);
            var outputs = OnnxVerifier.Run(LatencyProbeOnnx.Build(p, probe, 1), LatencyProbeOnnx.InputName, LatencyProbeOnnx.RandomInput(shape, 2), shape);
            long[] expected = probe.Kind switch
            {
                LatencyProbeKind.Overhead => shape,
                LatencyProbeKind.Stem => new long[] { 1, p.FirstBlockChannels, p.StemOutputSize, p.StemOutputSize },
                LatencyProbeKind.Head => new long[] { 1, p.NumClasses },
                LatencyProbeKind.Depthwise => new long[] { 1, geo[probe.Layer].InChannels, geo[probe.Layer].OutSize, geo[probe.Layer].OutSize },
                _ => new long[] { 1, geo[probe.Layer].OutChannels, geo[probe.Layer].OutSize, geo[probe.Layer].OutSize },
            };
            Assert.Equal(expected, outputs.Single().Shape);
            Assert.All(outputs.Single().Data, v => Assert.True(float.IsFinite(v), $"{probe}: non-finite output"));
        }
    }

    [Fact]
    public void TableAndValidationRunEndToEndInOnnxRuntime()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var o = new LatencyMeasurementOptions { Warmup = 1, Repetitions = 3, MinSampleMs = 0 };
        using var rt = new OnnxRuntimeLatency(threads: 1);
        var (table, probes) = LatencyTableBuilder.Measure(p, rt, o);
        Assert.Equal(LatencyProbe.All(p).Count, probes.Count);
        Assert.All(probes, s => Assert.True(s.Sample.MedianMs > 0, $"{s.Probe}: {s.Sample.MedianMs}"));
        Assert.Equal("onnxruntime", table.Runtime.Name);
        Assert.Equal(p.LayerCount, table.Layers.Count);
        var back = LatencyTable.FromJson(table.ToJson());
        var report = LatencyValidation.Run(p, back, rt, 4, o, heldOutFraction: 0.5);
        Assert.Equal(4, report.Points.Count);
        Assert.Equal(2, report.Points.Count(x => x.HeldOut));
        Assert.All(report.Points, x => Assert.True(x.MeasuredMs > 0 && double.IsFinite(x.SumMs)));
        Assert.Equal(4, report.Points.Select(x => x.Architecture).Distinct().Count());
    }

    [Fact]
    public void TorchRuntimeMeasuresTheSameProbes()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var o = new LatencyMeasurementOptions { Warmup = 1, Repetitions = 2, MinSampleMs = 0 };
        using var rt = new TorchLatencyRuntime(threads: 1);
        var (table, _) = LatencyTableBuilder.Measure(p, rt, o);
        Assert.Equal("torchsharp", table.Runtime.Name);
        var report = LatencyValidation.Run(p, table, rt, 2, o, heldOutFraction: 0);
        Assert.All(report.Points, x => Assert.True(x.MeasuredMs > 0));
    }
}
