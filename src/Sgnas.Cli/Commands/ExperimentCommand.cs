using System.CommandLine;
using Sgnas.Generation;
using Sgnas.MLNet.Reports;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas experiment</c>: the reproducible, resumable experiment of issue 9 (supernet, generator, random search,
/// evolution, random sample, held-out re-scoring, FLOPs tracking, supernet ranking, <c>results.md</c> with figures).
/// </summary>
public sealed class ExperimentCommand : SgnasCommand
{
    private readonly Option<string?> _out = CliOptions.Out("output folder; rerun the same command to continue an interrupted run", required: true);
    private readonly Option<string> _scale = CliOptions.Choice("--scale",
        "full: the papers' protocol on all 54k training images (~90 min on 2 cores, see README); tiny: the same stages on small subsets (about a minute)",
        "full", "full", "tiny");
    private readonly Option<string?> _data = CliOptions.Data("dataset (default Fashion-MNIST); its test split is the held-out split");
    private readonly Option<int?> _seed = CliOptions.IntOrNull("--seed", "seed (default: the scale's)");
    private readonly Option<string?> _device = CliOptions.Text("--device", "cpu, cuda or cuda:N (default: the scale's, cpu)", "D");
    private readonly Option<int?> _threads = CliOptions.Threads();
    // Single sizes that override the chosen scale's.
    private readonly Option<int?> _supernetEpochs = Size("--supernet-epochs");
    private readonly Option<int?> _generatorEpochs = Size("--generator-epochs");
    private readonly Option<int?> _valImages = Size("--val-images");
    private readonly Option<int?> _recalibrationImages = Size("--recalibration-images");
    private readonly Option<int?> _heldOutImages = Size("--held-out-images");
    private readonly Option<int?> _randomCandidates = Size("--random-candidates");
    private readonly Option<int?> _population = Size("--population");
    private readonly Option<int?> _iterations = Size("--iterations");
    private readonly Option<int?> _randomPoints = Size("--random-points");
    private readonly Option<int?> _rankingArchs = Size("--ranking-archs");
    private readonly Option<int?> _percentileNeighbours = Size("--percentile-neighbours");
    private readonly Option<int?> _rankingEpochs = Size("--ranking-epochs");
    private readonly Option<int?> _rankingTrainImages = Size("--ranking-train-images");
    private readonly Option<int?> _maxTrainImages = Size("--max-train-images");
    private readonly Option<int?> _generatorMaxImages = Size("--generator-max-images");
    private readonly Option<int?> _otherRandomCandidates = Size("--other-random-candidates");
    private readonly Option<int?> _otherPopulation = Size("--other-population");
    private readonly Option<int?> _otherIterations = Size("--other-iterations");
    private readonly Option<string?> _supernetRecipe = CliOptions.ChoiceOrNull("--supernet-recipe",
        "supernet recipe (default: the scale's, paper): paper K = 3, lr 0.045, wd 4e-5; reference K = 4, lr 0.064, wd 4e-4, smoothing 0.1, reference init",
        "paper", "reference");
    private readonly Option<int?> _supernetPaths = CliOptions.IntOrNull("--supernet-paths", "paths per supernet step K (default: the recipe's)", min: 1);
    private readonly Option<double?> _margin = CliOptions.DoubleOrNull("--constraint-margin",
        "generator constraint-loss margin in M (default: 1 % of the interval width)", min: 0, helpName: "M");
    private readonly Option<string?> _prior = CliOptions.ChoiceOrNull("--prior", "generator random prior (default: bucketed)", "bucketed", "single");
    private readonly Option<string?> _stopAfter = CliOptions.ChoiceOrNull("--stop-after", "stop after this stage (simulates an interruption)",
        "supernet", "generator", "search", "sample", "heldout", "tracking", "ranking");

    public override string Name => "experiment";
    public override string Summary => "Run (or continue) the full SGNAS experiment and write results.md with Fig. 6a/7a (resumable).";

    private static Option<int?> Size(string name) => CliOptions.IntOrNull(name, "override this size of the chosen scale", min: 0);

    protected override int Run(ParseResult parse)
    {
        string outDir = parse.GetValue(_out)!;
        var o = parse.GetValue(_scale) == "tiny" ? ExperimentOptions.Tiny : ExperimentOptions.Full;
        string? stopAfter = parse.GetValue(_stopAfter);
        o = o with
        {
            DataPath = parse.GetValue(_data), Seed = parse.GetValue(_seed) ?? o.Seed, Device = parse.GetValue(_device) ?? o.Device,
            SupernetEpochs = parse.GetValue(_supernetEpochs) ?? o.SupernetEpochs, GeneratorEpochs = parse.GetValue(_generatorEpochs) ?? o.GeneratorEpochs,
            ValidationImages = parse.GetValue(_valImages) ?? o.ValidationImages, RecalibrationImages = parse.GetValue(_recalibrationImages) ?? o.RecalibrationImages,
            HeldOutImages = parse.GetValue(_heldOutImages) ?? o.HeldOutImages, RandomCandidates = parse.GetValue(_randomCandidates) ?? o.RandomCandidates,
            EvolutionPopulation = parse.GetValue(_population) ?? o.EvolutionPopulation, EvolutionIterations = parse.GetValue(_iterations) ?? o.EvolutionIterations,
            RandomPoints = parse.GetValue(_randomPoints) ?? o.RandomPoints, PercentileNeighbours = parse.GetValue(_percentileNeighbours) ?? o.PercentileNeighbours, RankingArchitectures = parse.GetValue(_rankingArchs) ?? o.RankingArchitectures,
            RankingEpochs = parse.GetValue(_rankingEpochs) ?? o.RankingEpochs, RankingTrainImages = parse.GetValue(_rankingTrainImages) ?? o.RankingTrainImages,
            SupernetMaxTrainImages = parse.GetValue(_maxTrainImages) ?? o.SupernetMaxTrainImages, StopAfter = stopAfter,
            GeneratorMaxImages = parse.GetValue(_generatorMaxImages) ?? o.GeneratorMaxImages,
            OtherRandomCandidates = parse.GetValue(_otherRandomCandidates) ?? o.OtherRandomCandidates,
            OtherEvolutionPopulation = parse.GetValue(_otherPopulation) ?? o.OtherEvolutionPopulation,
            OtherEvolutionIterations = parse.GetValue(_otherIterations) ?? o.OtherEvolutionIterations,
        };
        // Recipe and generator settings are values (docs/generator.md section 3); the scale keeps its own sizes.
        if (parse.GetValue(_supernetRecipe) is string recipe)
            o = o with
            {
                Supernet = (recipe == "reference" ? SupernetTrainerOptions.Reference : new SupernetTrainerOptions())
                    with { ValidationArchitectures = o.Supernet.ValidationArchitectures },
            };
        if (parse.GetValue(_supernetPaths) is int paths) o = o with { Supernet = o.Supernet with { PathsPerStep = paths } };
        if (parse.GetValue(_margin) is double margin) o = o with { Generator = o.Generator with { ConstraintMarginM = margin } };
        if (parse.GetValue(_prior) is string prior)
            o = o with { Generator = o.Generator with { Prior = prior == "single" ? PriorKind.SingleRandom : PriorKind.Bucketed } };
        if (parse.GetValue(_threads) is int threads) TorchSharp.torch.set_num_threads(threads);
        using var output = OpenOutput(parse);
        try { o.Validate(); }
        catch (ArgumentOutOfRangeException e) { throw new UsageException(e.Message.Split('\n')[0]); }

        using var longRun = LongRun.Start(Name, outDir);
        longRun.Kept = $"every finished stage and the interrupted stage's last checkpoint are kept in {Path.GetFullPath(outDir)}; continue with the same command.";
        var result = new ExperimentRunner(o, outDir, output.Log, output.Progress()).Execute(longRun.Token);
        if (result is null)
        {
            output.Result(new { outDir, stopped = o.StopAfter }, () => $"stopped after {o.StopAfter}; rerun to continue.");
            return 0;
        }
        output.Result(new { outDir, report = Path.Combine(outDir, ExperimentReport.MarkdownFile) },
            () => File.ReadAllText(Path.Combine(outDir, ExperimentReport.MarkdownFile)));
        return 0;
    }
}
