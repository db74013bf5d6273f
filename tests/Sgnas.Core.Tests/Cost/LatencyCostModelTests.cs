using Sgnas.Cost;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Cost;

/// <summary>The latency twin of Eq. 9 (docs/latency.md) against its table, brute force and finite differences.</summary>
public class LatencyCostModelTests
{
    /// <summary>A table with distinct random entries (so a wrong index shows), for <paramref name="p"/>.</summary>
    internal static LatencyTable SyntheticTable(SearchSpacePreset p, int seed, LatencyCorrection? correction = null)
    {
        var rng = new Random(seed);
        var geo = p.Geometry();
        return new LatencyTable
        {
            Preset = p.Name, Kernels = p.Kernels.ToArray(), MinExpansion = p.MinExpansion, MaxExpansion = p.MaxExpansion,
            FixedMs = 0.3 + rng.NextDouble(),
            Layers = geo.Select(g => new LatencyLayerEntry
            {
                InChannels = g.InChannels, OutChannels = g.OutChannels, Stride = g.Stride, InSize = g.InSize,
                DepthwiseMs = p.Kernels.Select(_ => rng.NextDouble()).ToArray(),
                // deliberately not linear in e, so a linear (Eq. 9-style) pointwise term would fail the tests
                PointwiseMs = Enumerable.Range(0, p.MaxExpansion - p.MinExpansion + 1).Select(_ => 1 + 3 * rng.NextDouble()).ToArray(),
            }).ToArray(),
            Correction = correction,
            Machine = new LatencyMachine { Cpu = "test", LogicalCores = 1, Os = "test", DotNet = "test" },
            Runtime = new LatencyRuntimeInfo { Name = "synthetic", Version = "0", Threads = 1, Warmup = 0, Repetitions = 1 },
            CreatedUtc = "2026-12-01T00:00:00Z",
        };
    }

    /// <summary>
    /// The range over the whole space, brute force: every uniform-kernel choice per layer (the extremes use one kernel
    /// per layer) at every rate, on a random, non-monotone table, where the smallest and largest architectures are
    /// usually not the extremes. Sampled architectures stay inside.
    /// </summary>
    [Fact]
    public void RangeIsTheTrueMinimumAndMaximumOnANonMonotoneTable()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var model = new LatencyCostModel(p, SyntheticTable(p, 11, new LatencyCorrection { Intercept = 0.05, Slope = 1.2, FittedOn = 10 }));
        var perLayer = p.Kernels.SelectMany(k => Enumerable.Range(p.MinExpansion, p.MaxExpansion - p.MinExpansion + 1)
            .Select(e => new LayerChoice(Enumerable.Repeat(k, e)))).ToArray();
        // The sum is additive over layers: the best choice of each layer alone, all else fixed, gives the extreme.
        Architecture Extreme(Func<double, double, bool> better)
        {
            var layers = Enumerable.Range(0, p.LayerCount).Select(_ => perLayer[0]).ToArray();
            for (int i = 0; i < p.LayerCount; i++)
            {
                var best = perLayer[0];
                foreach (var c in perLayer)
                {
                    layers[i] = c;
                    double v = model.PredictMs(new Architecture(layers));
                    layers[i] = best;
                    if (better(v, model.PredictMs(new Architecture(layers)))) best = c;
                }
                layers[i] = best;
            }
            return new Architecture(layers);
        }
        var (lo, hi) = model.Range();
        Assert.Equal(model.PredictMs(Extreme((a, b) => a < b)), lo, 9);
        Assert.Equal(model.PredictMs(Extreme((a, b) => a > b)), hi, 9);
        Assert.True(lo < model.PredictMs(Architecture.Smallest(p)) || hi > model.PredictMs(Architecture.Largest(p)),
            "the table happens to be monotone: the test would not tell the old range from the new");
        var sampler = new ArchitectureSampler(p, 2);
        for (int n = 0; n < 500; n++) Assert.InRange(model.PredictMs(sampler.Sample(canonical: false)), lo - 1e-12, hi + 1e-12);        // The cost the generator, the searches and the CLI use reports the same range.
        Assert.Equal((lo, hi), ConstraintCost.Latency(model).Range());
        // The cheapest architecture is the minimum, and the hard limit repairs down to it: a budget between the true
        // minimum and the smallest architecture's latency is met, not refused.
        Assert.Equal(lo, model.PredictMs(model.Cheapest()), 9);
        var cost = ConstraintCost.Latency(model);
        double smallest = model.PredictMs(Architecture.Smallest(p));
        if (lo < smallest)
        {
            double target = 0.5 * (lo + smallest);
            var alpha = Enumerable.Repeat(1f, p.LayerCount * p.MaxExpansion * p.OptionCount).ToArray();
            var (path, _) = Sgnas.Generation.HardLimit.ApplyPath(p, cost, alpha, target);
            Assert.True(model.PredictMs(path.ToArchitecture()) <= target + 1e-12, $"repaired to {model.PredictMs(path.ToArchitecture())} ms > {target} ms");
        }
    }

    [Theory]
    [InlineData("fashion-small")]
    [InlineData("imagenet")]
    public void OneHotWeightsGiveTheTableSumExactly(string name)
    {
        var p = SearchSpacePreset.Load(name);
        var table = SyntheticTable(p, 3);
        var model = new LatencyCostModel(p, table);
        var sampler = new ArchitectureSampler(p, 5);
        var archs = Enumerable.Range(0, 20).Select(_ => sampler.Sample(canonical: false))
            .Append(Architecture.Smallest(p)).Append(Architecture.Largest(p)).ToList();
        var batch = archs.SelectMany(a => a.ToOneHot(p)).ToArray();
        using var m = tensor(batch, new long[] { archs.Count, p.LayerCount, p.MaxExpansion, p.OptionCount }, dtype: float64);
        var expected = model.ExpectedMs(m).data<double>().ToArray();
        for (int i = 0; i < archs.Count; i++)
        {
            // independent of the twin: hand-sum the table for the architecture
            double sum = table.FixedMs;
            for (int l = 0; l < p.LayerCount; l++)
            {
                var c = archs[i].Layers[l];
                sum += table.Layers[l].PointwiseMs[c.Expansion - p.MinExpansion];
                foreach (int k in c.Kernels) sum += table.Layers[l].DepthwiseMs[p.Kernels.ToList().IndexOf(k)];
            }
            Assert.Equal(sum, table.SumMs(archs[i]), 9);
            Assert.Equal(sum, expected[i], 9);
            Assert.Equal(sum, model.ExpectedMs(archs[i].ToOneHot(p)), 9);
        }
    }

    [Fact]
    public void PointwiseTermIsTheExpectationOverActiveSubBlockCountsByEnumeration()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var table = SyntheticTable(p, 7);
        var model = new LatencyCostModel(p, table);
        var rng = new Random(1);
        int L = p.LayerCount, S = p.MaxExpansion, O = p.OptionCount, K = p.Kernels.Count;
        var m = new double[L * S * O];
        for (int i = 0; i < L; i++)
            for (int j = 0; j < S; j++)
            {
                // random distribution over the options; skip is masked for the first MinExpansion sub-blocks
                var w = Enumerable.Range(0, O).Select(o => o == p.SkipIndex && j < p.MinExpansion ? 0 : rng.NextDouble()).ToArray();
                double z = w.Sum();
                for (int o = 0; o < O; o++) m[(i * S + j) * O + o] = w[o] / z;
            }
        double brute = table.FixedMs;
        for (int i = 0; i < L; i++)
        {
            for (int j = 0; j < S; j++)
                for (int k = 0; k < K; k++) brute += m[(i * S + j) * O + k] * table.Layers[i].DepthwiseMs[k];
            // enumerate all 2^S active/skip patterns of the layer
            for (int mask = 0; mask < 1 << S; mask++)
            {
                double prob = 1; int active = 0;
                for (int j = 0; j < S; j++)
                {
                    double skip = m[(i * S + j) * O + p.SkipIndex];
                    if ((mask >> j & 1) == 1) { prob *= 1 - skip; active++; } else prob *= skip;
                }
                if (active >= p.MinExpansion) brute += prob * table.Layers[i].PointwiseMs[active - p.MinExpansion];
            }
        }
        using var t = tensor(m, new long[] { 1, L, S, O });
        Assert.Equal(brute, model.ExpectedMs(t).item<double>(), 9);
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var model = new LatencyCostModel(p, SyntheticTable(p, 11));
        int L = p.LayerCount, S = p.MaxExpansion, O = p.OptionCount;
        manual_seed(3);
        using var logits = randn(2, L, S, O, dtype: float64);
        using var m = logits.softmax(-1).detach().requires_grad_(true);
        using var y = model.ExpectedMs(m).sum();
        y.backward();
        var grad = m.grad!.data<double>().ToArray();
        var values = m.detach().data<double>().ToArray();
        var rng = new Random(2);
        const double h = 1e-6;
        for (int trial = 0; trial < 40; trial++)
        {
            int idx = rng.Next(values.Length);
            double F(double delta)
            {
                var v = (double[])values.Clone();
                v[idx] += delta;
                using var t = tensor(v, new long[] { 2, L, S, O });
                return model.ExpectedMs(t).sum().item<double>();
            }
            double fd = (F(h) - F(-h)) / (2 * h);
            Assert.True(Math.Abs(fd - grad[idx]) < 1e-5 * Math.Max(1, Math.Abs(fd)), $"index {idx}: autograd {grad[idx]} vs finite difference {fd}");
        }
    }

    [Fact]
    public void ExpectedLatencyIsLinearInTheDepthwiseWeights()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var table = SyntheticTable(p, 13);
        var model = new LatencyCostModel(p, table);
        var a = Architecture.Uniform(p.LayerCount, 4, 3);
        var m = a.ToOneHot(p).Select(v => (double)v).ToArray();
        int S = p.MaxExpansion, O = p.OptionCount;
        // move weight t from k3 to k7 in sub-block 1 of layer 2: the change is t·(DW(7) − DW(3)), for any t
        int row = (2 * S + 1) * O;
        double baseMs = model.ExpectedMs(m.Select(v => (float)v).ToArray());
        foreach (double t in new[] { 0.25, 0.5, 1.0 })
        {
            var w = (double[])m.Clone();
            w[row + 0] -= t; w[row + 2] += t;
            using var x = tensor(w, new long[] { 1, p.LayerCount, S, O });
            double d = table.Layers[2].DepthwiseMs[2] - table.Layers[2].DepthwiseMs[0];
            Assert.Equal(baseMs + t * d, model.ExpectedMs(x).item<double>(), 6);
        }
    }

    [Fact]
    public void CorrectionIsAppliedAffinelyAndCanBeSwitchedOff()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var c = new LatencyCorrection { Intercept = 0.05, Slope = 1.2, FittedOn = 10 };
        var table = SyntheticTable(p, 17, c);
        var a = new ArchitectureSampler(p, 1).Sample();
        double sum = table.SumMs(a);
        Assert.Equal(0.05 + 1.2 * sum, new LatencyCostModel(p, table).PredictMs(a), 9);
        Assert.Equal(0.05 + 1.2 * sum, new LatencyCostModel(p, table).ExpectedMs(a.ToOneHot(p)), 6);
        Assert.Equal(sum, new LatencyCostModel(p, table, applyCorrection: false).ExpectedMs(a.ToOneHot(p)), 6);
    }

    [Fact]
    public void CorrectionFitRecoversAnAffineRelation()
    {
        var sums = new[] { 1.0, 2.0, 3.0, 5.0 };
        var fit = LatencyCorrection.Fit(sums, sums.Select(s => 0.2 + 0.9 * s).ToArray());
        Assert.Equal(0.2, fit.Intercept, 9);
        Assert.Equal(0.9, fit.Slope, 9);
        Assert.Throws<ArgumentException>(() => LatencyCorrection.Fit(new[] { 1.0, 1.0 }, new[] { 1.0, 2.0 }));
        Assert.Throws<ArgumentException>(() => LatencyCorrection.Fit(sums, sums.Select(s => 5 - s).ToArray()));

        // Worked by hand: sums 1, 2, 3 timed 0.1, 2, 4 ms fit b = 3.9 / 2 = 1.95, a = 61/30 − 3.9 = −1.8667, which
        // predicts −0.89 ms at sum 0.5 (a noisy fit crossing zero above the fastest network) and +0.083 ms at sum 1.
        var noisy = LatencyCorrection.Fit(new[] { 1.0, 2.0, 3.0 }, new[] { 0.1, 2.0, 4.0 });
        Assert.Equal(1.95, noisy.Slope, 9);
        Assert.Equal(61.0 / 30 - 3.9, noisy.Intercept, 9);
        Assert.False(noisy.PositiveFrom(0.5));
        Assert.True(noisy.PositiveFrom(1.0));
    }

    [Fact]
    public void TableRoundTripsThroughJsonAndRejectsMismatches()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var table = SyntheticTable(p, 19, new LatencyCorrection { Intercept = 0.1, Slope = 1.1, FittedOn = 5 });
        var back = LatencyTable.FromJson(table.ToJson());
        var a = new ArchitectureSampler(p, 4).Sample();
        Assert.Equal(table.PredictMs(a), back.PredictMs(a), 12);
        Assert.Equal(LatencyTable.CurrentSchemaVersion, back.SchemaVersion);
        Assert.Equal("synthetic", back.Runtime.Name);

        var future = table.ToJson().Replace("\"schemaVersion\": 1", "\"schemaVersion\": 99");
        var e = Assert.Throws<FormatException>(() => LatencyTable.FromJson(future, "t.json"));
        Assert.Contains("schema version 99", e.Message);
        var broken = table with { Layers = table.Layers.Select((l, i) => i == 2 ? l with { PointwiseMs = new[] { 1.0 } } : l).ToArray() };
        Assert.Contains("layer 2", Assert.Throws<FormatException>(() => LatencyTable.FromJson(broken.ToJson())).Message);
        var other = SearchSpacePreset.Load("cifar");
        Assert.Contains("does not fit preset 'cifar'", Assert.Throws<ArgumentException>(() => new LatencyCostModel(other, table)).Message);
    }

    [Fact]
    public void TableAssemblySubtractsOverheadAndSplitsLayersIntoDepthwiseAndRest()
    {
        var p = SearchSpacePreset.Load("fashion-small");
        var probes = LatencyProbe.All(p);
        // synthetic "measurements": overhead 0.01 per run, dw(k) = 0.001·k, block(e) = 0.01 + 0.02·e + e·dw(3)
        LatencySample S(double ms) => new(ms, ms, ms, 1);
        var measured = probes.Select(q => (q, q.Kind switch
        {
            LatencyProbeKind.Overhead => S(0.01),
            LatencyProbeKind.Stem => S(0.5),
            LatencyProbeKind.Head => S(0.2),
            LatencyProbeKind.Depthwise => S(0.01 + 0.001 * q.Kernel * (q.Layer + 1)),
            LatencyProbeKind.Layer => S(0.01 + 0.02 * q.Expansion + q.Expansion * 0.003 * (q.Layer + 1)),
            _ => throw new InvalidOperationException(),
        })).ToList();
        using var rt = new FakeRuntime();
        var t = LatencyTableBuilder.Assemble(p, measured, new LatencyMachine { Cpu = "x", LogicalCores = 1, Os = "x", DotNet = "x" }, rt, new LatencyMeasurementOptions());
        Assert.Equal(0.5 + 0.2 - 0.01, t.FixedMs, 12);
        Assert.Equal(0.005 * 3, t.Layers[2].DepthwiseMs[1], 12);
        Assert.Equal(0.02 * 4, t.Layers[3].PointwiseMs[4 - p.MinExpansion], 12);
        // a layer of k3 everywhere costs exactly its measured block minus the run overhead
        var a = Architecture.Uniform(p.LayerCount, 5, 3);
        double blocks = Enumerable.Range(0, p.LayerCount).Sum(i => 0.02 * 5 + 5 * 0.003 * (i + 1));
        Assert.Equal(t.FixedMs + blocks, t.SumMs(a), 12);

        // Noise: layer 1's k5 probe timed under the run overhead and layer 2's e4 block under overhead + 4·dw(3);
        // those entries are 0, not negative, and every other entry is unchanged.
        var noisy = measured.Select(m => (m.q, m.q switch
        {
            { Kind: LatencyProbeKind.Depthwise, Layer: 1, Kernel: 5 } => S(0.009),
            { Kind: LatencyProbeKind.Layer, Layer: 2, Expansion: 4 } => S(0.005),
            _ => m.Item2,
        })).ToList();
        var tn = LatencyTableBuilder.Assemble(p, noisy, new LatencyMachine { Cpu = "x", LogicalCores = 1, Os = "x", DotNet = "x" }, rt, new LatencyMeasurementOptions());
        Assert.Equal(0, tn.Layers[1].DepthwiseMs[1]);
        Assert.Equal(0, tn.Layers[2].PointwiseMs[4 - p.MinExpansion]);
        Assert.Equal(t.Layers[1].DepthwiseMs[0], tn.Layers[1].DepthwiseMs[0], 12);
        Assert.Equal(t.Layers[2].PointwiseMs[3 - p.MinExpansion], tn.Layers[2].PointwiseMs[3 - p.MinExpansion], 12);
        Assert.True(new LatencyCostModel(p, tn).Range().Min > 0);
    }

    [Fact]
    public void InterleavedTimerKeepsTheMedianAndCalibratesRunsPerSample()
    {
        var slow = new SleepRunner(2.0);
        var fast = new SleepRunner(0.0);
        var s = InterleavedTimer.Measure(new ILatencyRunner[] { slow, fast },
            new LatencyMeasurementOptions { Warmup = 1, Repetitions = 5, MinSampleMs = 3 });
        Assert.True(s[0].MedianMs >= 1.9, $"slow runner median {s[0].MedianMs}");
        Assert.True(s[0].RunsPerSample is >= 1 and <= 2);
        Assert.True(s[1].RunsPerSample > 10, "a fast runner is averaged over many runs per sample");
        Assert.Equal(1 + 5 + (1 + s[0].RunsPerSample) * 5, slow.Calls); // warm-up, 5 calibration runs, per sample one re-warm run and the timed runs
    }

    private sealed class SleepRunner(double ms) : ILatencyRunner
    {
        public int Calls;
        public void Run()
        {
            Calls++;
            if (ms > 0) { var sw = System.Diagnostics.Stopwatch.StartNew(); while (sw.Elapsed.TotalMilliseconds < ms) { } }
        }
        public void Dispose() { }
    }

    private sealed class FakeRuntime : ILatencyRuntime
    {
        public string Name => "fake";
        public string Version => "0";
        public int Threads => 1;
        public string? Settings => null;
        public ILatencyRunner Prepare(SearchSpacePreset preset, LatencyProbe probe, int seed) => throw new NotSupportedException();
        public ILatencyRunner PrepareNetwork(SearchSpacePreset preset, Architecture arch, int seed) => throw new NotSupportedException();
        public void Dispose() { }
    }
}
