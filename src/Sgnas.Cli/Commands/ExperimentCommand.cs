using Sgnas.MLNet.Reports;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas experiment</c>: the reproducible, resumable experiment of issue 9 (supernet, generator, random search,
/// evolution, random sample, held-out re-scoring, FLOPs tracking, supernet ranking, <c>results.md</c> with figures).
/// </summary>
public sealed class ExperimentCommand : ICommand
{
    public string Name => "experiment";
    public string Summary => "Run (or continue) the full SGNAS experiment and write results.md with Fig. 6a/7a (resumable).";
    public string Usage =>
        "  --out DIR                output folder (required); rerun the same command to continue an interrupted run\n" +
        "  --scale full|tiny        full: papers' protocol on all 54k training images (~90 min on 2 cores, see README);\n" +
        "                           tiny: the same stages on small subsets (about a minute)\n" +
        "  --data PATH              dataset (default Fashion-MNIST); its test split is the held-out split\n" +
        "  --seed N  --device D  --threads N\n" +
        "  --supernet-epochs N  --generator-epochs N  --val-images N  --recalibration-images N  --held-out-images N\n" +
        "  --random-candidates N  --population N  --iterations N  --random-points N  --ranking-archs N  --ranking-epochs N\n" +
        "  --ranking-train-images N  --max-train-images N  --generator-max-images N\n" +
        "  --other-random-candidates N  --other-population N  --other-iterations N   override single sizes of the chosen scale\n" +
        "  --stop-after STAGE       stop after supernet|generator|search|sample|heldout|tracking|ranking (simulates an interruption)\n" +
        "  --json";

    public int Run(Args args)
    {
        string outDir = args.Required("out");
        var o = args.String("scale", "full") switch
        {
            "full" => ExperimentOptions.Full,
            "tiny" => ExperimentOptions.Tiny,
            var v => throw new UsageException($"--scale must be 'full' or 'tiny'; got '{v}'."),
        };
        int? Opt(string name) => args.String(name) is null ? null : args.Int(name, 0, min: 0);
        o = o with
        {
            DataPath = args.String("data"), Seed = args.Int("seed", o.Seed), Device = args.String("device", o.Device)!,
            SupernetEpochs = Opt("supernet-epochs") ?? o.SupernetEpochs, GeneratorEpochs = Opt("generator-epochs") ?? o.GeneratorEpochs,
            ValidationImages = Opt("val-images") ?? o.ValidationImages, RecalibrationImages = Opt("recalibration-images") ?? o.RecalibrationImages,
            HeldOutImages = Opt("held-out-images") ?? o.HeldOutImages, RandomCandidates = Opt("random-candidates") ?? o.RandomCandidates,
            EvolutionPopulation = Opt("population") ?? o.EvolutionPopulation, EvolutionIterations = Opt("iterations") ?? o.EvolutionIterations,
            RandomPoints = Opt("random-points") ?? o.RandomPoints, RankingArchitectures = Opt("ranking-archs") ?? o.RankingArchitectures,
            RankingEpochs = Opt("ranking-epochs") ?? o.RankingEpochs, RankingTrainImages = Opt("ranking-train-images") ?? o.RankingTrainImages,
            SupernetMaxTrainImages = Opt("max-train-images") ?? o.SupernetMaxTrainImages, StopAfter = args.String("stop-after"),
            GeneratorMaxImages = Opt("generator-max-images") ?? o.GeneratorMaxImages,
            OtherRandomCandidates = Opt("other-random-candidates") ?? o.OtherRandomCandidates,
            OtherEvolutionPopulation = Opt("other-population") ?? o.OtherEvolutionPopulation,
            OtherEvolutionIterations = Opt("other-iterations") ?? o.OtherEvolutionIterations,
        };
        if (args.String("threads") is not null) TorchSharp.torch.set_num_threads(args.Int("threads", 1, min: 1));
        var output = new Output(args.Flag("json"));
        args.RejectUnknown(Name);
        try { o.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException(e.Message.Split('\n')[0]); }

        using var cts = new CancellationTokenSource();
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; cts.Cancel(); };
        Console.CancelKeyPress += onCancel;
        try
        {
            var result = new ExperimentRunner(o, outDir, output.Log, output.Progress()).Execute(cts.Token);
            if (result is null)
            {
                output.Result(new { outDir, stopped = o.StopAfter }, () => $"stopped after {o.StopAfter}; rerun to continue.");
                return 0;
            }
            output.Result(new { outDir, report = Path.Combine(outDir, ExperimentReport.MarkdownFile) },
                () => File.ReadAllText(Path.Combine(outDir, ExperimentReport.MarkdownFile)));
            return 0;
        }
        finally { Console.CancelKeyPress -= onCancel; }
    }
}
