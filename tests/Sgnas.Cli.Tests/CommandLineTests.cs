using System.CommandLine;

namespace Sgnas.Cli.Tests;

/// <summary>
/// The System.CommandLine front end: generated help, --version, completions, validation messages that name the
/// option, and every spelling that scripts, bench/ and README use still parsing.
/// </summary>
public sealed class CommandLineTests
{
    private static ParseResult Parse(params string[] args) => CliApp.Build().Parse(args);

    private static string Errors(ParseResult r) => string.Join("\n", r.Errors.Select(e => e.Message));

    public static TheoryData<string> CommandNames()
    {
        var data = new TheoryData<string>();
        foreach (var c in CliApp.Commands()) data.Add(c.Name);
        return data;
    }

    [Theory]
    [MemberData(nameof(CommandNames))]
    public void EveryCommandHasGeneratedHelpListingItsOptions(string name)
    {
        var command = CliApp.Build().Subcommands.Single(c => c.Name == name);
        var output = new StringWriter();
        var r = CliApp.Build().Parse([name, "--help"]);
        Assert.Empty(r.Errors);
        r.Invoke(new InvocationConfiguration { Output = output });
        string help = output.ToString();
        Assert.Matches($@" {name} (<\w+> )?\[options\]", help);
        Assert.Contains("--json", help);
        foreach (var o in command.Options.Where(o => !o.Hidden && o.Name.StartsWith("--", StringComparison.Ordinal)))
            Assert.Contains(o.Name, help);
    }

    [Fact]
    public void VersionAndHelpRunInAFreshProcess()
    {
        var (exit, stdout, _) = CliRunner.Run("--version");
        Assert.Equal(0, exit);
        Assert.Matches(@"^\d+\.\d+\.\d+", stdout.Trim());
        var help = CliRunner.Run("search", "--help");
        Assert.Equal(0, help.Exit);
        Assert.Contains("--strategy <random|evolution|generator|unas>", help.Stdout);
        Assert.Contains("[default: evolution]", help.Stdout);
    }

    [Fact]
    public void UnknownOptionMissingValueAndOutOfRangeValueAreUsageErrorsNamingTheOption()
    {
        Assert.Contains("'--bogus'", Errors(Parse("info", "--bogus")));
        Assert.Contains("--data", Errors(Parse("train-supernet", "--out", "x", "--data")));
        Assert.Contains("--epochs must be at least 1; got 0.", Errors(Parse("train-supernet", "--out", "x", "--epochs", "0")));
        Assert.Contains("--epochs", Errors(Parse("train-supernet", "--out", "x", "--epochs", "many")));
        Assert.Contains("--validation-fraction must be less than 1; got 1.", Errors(Parse("train-supernet", "--out", "x", "--validation-fraction", "1")));
        Assert.Contains("--strategy must be random, evolution, generator or unas; got 'best'.", Errors(Parse("search", "--run", "r", "--flops", "3", "--strategy", "best")));
        Assert.Contains("--flops: 'x' is not a number.", Errors(Parse("generate", "--run", "r", "--flops", "2,x")));
        Assert.Contains("--run", Errors(Parse("search", "--flops", "3")));

        // The process prints each error on one line with the command's name and exits with 2.
        var (exit, stdout, stderr) = CliRunner.Run("train-supernet", "--out", "x", "--epochs", "0");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Contains("sgnas train-supernet: --epochs must be at least 1; got 0.", stderr);
        Assert.Equal(2, CliRunner.Run().Exit);
    }

    [Fact]
    public void EveryCommandThatReadsDataTakesDataAndTheOldDatasetSpelling()
    {
        string[] reading = ["train-supernet", "train-generator", "search", "compare", "retrain", "demo", "experiment", "bench", "import-weights"];
        var root = CliApp.Build();
        foreach (var name in reading)
        {
            var option = root.Subcommands.Single(c => c.Name == name).Options.SingleOrDefault(o => o.Name == "--data");
            Assert.True(option is not null, $"{name} has no --data");
            Assert.Contains("--dataset", option!.Aliases);
        }
        var a = Parse("search", "--run", "r", "--flops", "3", "--dataset", "/d");
        var b = Parse("search", "--run", "r", "--flops", "3", "--data", "/d");
        Assert.Empty(a.Errors);
        Assert.Equal("/d", a.GetValue<string?>("--data"));
        Assert.Equal(b.GetValue<string?>("--data"), a.GetValue<string?>("--data"));
    }

    // Command lines of scripts/, bench/run.sh and README: every spelling they use must still parse.
    [Theory]
    [InlineData("demo --flops 3 --out runs/mine")]
    [InlineData("experiment --out o --scale tiny --threads 1 --stop-after generator")]
    [InlineData("train-supernet --preset p.json --out o --epochs 1 --max-train-images 400")]
    [InlineData("bench --preset fashion-small --workloads child --steps 1 --warmup 0 --threads 1 --json")]
    [InlineData("bench --preset fashion-small --workloads child,path,fair --arch e6:3|e6:3 --fair-paths a;b --batch-size 32 --steps 5 --threads 1 --json")]
    [InlineData("bench --generation 1,100,10000")]
    [InlineData("bench --generation 100,10000 --hidden-channels 8 --threads 2")]
    [InlineData("train-generator --run runs/a --epochs 30 --hidden-channels 8")]
    [InlineData("bench --candidates 5 --recalibration-images 16 --val-images 16")]
    [InlineData("info --preset imagenet --json")]
    [InlineData("flops --preset mobilenetv2 --arch e6:3 --json")]
    [InlineData("train-supernet --preset fashion-small --epochs 3 --max-train-images 12000 --out runs/a")]
    [InlineData("train-supernet --out runs/a --resume")]
    [InlineData("train-generator --run runs/a --epochs 30 --lambda 3e-4 --selection fit --selection-tolerance 0.2 --prior single --hard-gumbel --force")]
    [InlineData("generate --run runs/a --flops 2,3,4 --hard-limit --json")]
    [InlineData("search --run runs/a --strategy unas --budget-ms 0.15 --latency-table latency.json")]
    [InlineData("search --run r --dataset d --strategy evolution --flops 3 --population 3 --iterations 2 --top-k 2 --recalibration-images 16 --val-images 16 --json")]
    [InlineData("compare --run runs/a --flops 2,3,4 --unas --unas-steps 2 --unas-samples 2 --unas-images 8 --unas-objective gen --random-points 3 --out o --resume")]
    [InlineData("retrain --arch e2:3 --epochs 5 --optimizer sgd --out runs/a/retrain --se --hswish --warmup-epochs 0.5 --augment none --normalization data --val-fraction 0")]
    [InlineData("export --run runs/a/retrain --onnx runs/a/model.onnx --raw-pixels --last")]
    [InlineData("export-weights --run r --out w.safetensors --child --last")]
    [InlineData("import-weights --in w.safetensors --run r2 --preset fashion-small")]
    [InlineData("latency-table --preset fashion-small --threads 1 --repetitions 101 --validate 50 --out latency.json")]
    [InlineData("latency-table --preset fashion-small --runtime torch --out latency-torch.json --min-sample-ms 0 --quantile 0.1 --held-out 0.5 --no-correction")]
    [InlineData("train-supernet --out=o --epochs=2 --augment false")]
    [InlineData("completions bash")]
    [InlineData("retrain --arch e2:3 --out o --epochs 3 --optimizer rmsprop --warmup-epochs 1 --lr-per-256 0.016")]
    [InlineData("retrain --arch e2:3 --out o --epochs 3 --optimizer sgd --ema 0.999 --se --se-bottleneck expanded --stem-se --init reference --dropout 0.2")]
    [InlineData("train-supernet --out o --recipe reference --lr 0.02")]
    [InlineData("train-generator --run r --constraint-margin 0.1")]
    [InlineData("bench --generation 1,10,100,1000,10000 --threads 2")]
    public void ExistingSpellingsParse(string line)
    {
        var r = Parse(line.Split(' '));
        Assert.True(r.Errors.Count == 0, Errors(r));
    }

    [Fact]
    public void SuggestDirectiveCompletesCommandsOptionsAndValues()
    {
        string Suggest(string line) => CliRunner.Run($"[suggest:{line.Length}]", line).Stdout;
        Assert.Contains("train-supernet", Suggest("sgnas train"));
        Assert.Contains("--strategy", Suggest("sgnas search --stra"));
        var values = Suggest("sgnas search --strategy ").Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["evolution", "generator", "random", "unas"], values.Order());
        Assert.Contains("fashion-small", Suggest("sgnas info --preset "));

        var (exit, script, _) = CliRunner.Run("completions", "bash");
        Assert.Equal(0, exit);
        Assert.Contains("[suggest:", script);
        Assert.Contains("complete -o default -F _sgnas_complete sgnas", script);
    }
}
