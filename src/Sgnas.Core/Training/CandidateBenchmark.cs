using System.Diagnostics;
using Sgnas.Data;
using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.Search;
using Sgnas.SearchSpace;
using TorchSharp;

namespace Sgnas.Training;

/// <summary>Per-candidate cost of search scoring, measured by <see cref="CandidateBenchmark.Run"/>.</summary>
/// <param name="Candidates">Distinct candidates scored.</param>
/// <param name="RecalibrationImages">BN recalibration images per candidate.</param>
/// <param name="ValidationImages">Validation images per candidate.</param>
/// <param name="Threads">libtorch intra-op threads.</param>
/// <param name="WallMs">Median wall time per candidate (recalibration and validation).</param>
/// <param name="CpuMs">Median process CPU time per candidate.</param>
/// <param name="CandidatesPerMinute">60 000 / <see cref="WallMs"/>.</param>
public sealed record CandidateBenchmarkResult(int Candidates, int RecalibrationImages, int ValidationImages, int Threads,
    double WallMs, double CpuMs, double CandidatesPerMinute);

/// <summary>
/// Times <see cref="CandidateEvaluator.Evaluate"/> (BN recalibration, then validation scoring) on Fashion-MNIST-shaped
/// data with a supernet of random weights: the fixed cost every search strategy pays per candidate.
/// </summary>
public static class CandidateBenchmark
{
    /// <summary>Scores <paramref name="candidates"/> random architectures of <paramref name="preset"/> (after one untimed).</summary>
    public static CandidateBenchmarkResult Run(SearchSpacePreset preset, ImageDataset data, int candidates, CandidateEvaluatorOptions options,
        int? threads = null, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        if (candidates < 1) throw new ArgumentOutOfRangeException(nameof(candidates), candidates, "candidates must be at least 1.");
        var device = DeviceSelector.Resolve("cpu");
        if (threads is int t) torch.set_num_threads(t);
        torch.manual_seed(seed);
        using var net = new Supernet(preset);
        net.eval();
        var norm = new ChannelNormalization(preset.Mean.ToArray(), preset.Std.ToArray());
        int half = data.Count / 2;
        var train = Enumerable.Range(0, half).ToArray();
        var validation = Enumerable.Range(half, data.Count - half).ToArray();
        using var evaluator = new CandidateEvaluator(net, EvaluationData.Create(data, train, validation, norm, options, device));
        var sampler = new ArchitectureSampler(preset, seed);
        evaluator.Evaluate(sampler.Sample(canonical: true)); // untimed: first-call allocations
        var wall = new List<double>();
        var cpu = new List<double>();
        using var process = Process.GetCurrentProcess();
        while (wall.Count < candidates)
        {
            var arch = sampler.Sample(canonical: true);
            int before = evaluator.Evaluations;
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var sw = Stopwatch.StartNew();
            evaluator.Evaluate(arch);
            if (evaluator.Evaluations == before) continue; // drawn before: a cache hit costs nothing
            wall.Add(sw.Elapsed.TotalMilliseconds);
            process.Refresh();
            cpu.Add((process.TotalProcessorTime - cpu0).TotalMilliseconds);
        }
        double w = Median(wall);
        return new CandidateBenchmarkResult(candidates, evaluator.Data.RecalibrationCount, evaluator.Data.ValidationCount, torch.get_num_threads(),
            w, Median(cpu), 60_000 / w);
    }

    private static double Median(List<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }
}
