using System.CommandLine;
using System.CommandLine.Invocation;
using Sgnas.Cli.Commands;

namespace Sgnas.Cli;

/// <summary>
/// The <c>sgnas</c> command line on System.CommandLine: generated help per command (<c>--help</c>), <c>--version</c>,
/// completions through the <c>[suggest]</c> directive (docs/cli.md), and validation. Exit codes: 0 success, 1 a
/// failure the command reports (missing file, bad data), 2 bad usage (unknown option, missing or out-of-range value),
/// 130 cancelled by Ctrl-C.
/// </summary>
public static class CliApp
{
    /// <summary>Exit code of bad usage.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Every command, in the order of the help's list.</summary>
    public static SgnasCommand[] Commands() =>
    [
        new InfoCommand(),
        new FlopsCommand(),
        new LatencyTableCommand(),
        new TrainSupernetCommand(),
        new TrainGeneratorCommand(),
        new GenerateCommand(),
        new SearchCommand(),
        new CompareCommand(),
        new RetrainCommand(),
        new ExportCommand(),
        new ExportWeightsCommand(),
        new ImportWeightsCommand(),
        new BenchCommand(),
        new DemoCommand(),
        new ExperimentCommand(),
        new CompletionsCommand(),
    ];

    /// <summary>The root command with every sub-command.</summary>
    public static RootCommand Build()
    {
        var root = new RootCommand("sgnas: SGNAS neural architecture search on TorchSharp and ML.NET. Every command takes --help and --json.");
        foreach (var c in Commands()) root.Subcommands.Add(c.Build());
        return root;
    }

    /// <summary>Parses and runs <paramref name="args"/>; returns the process exit code.</summary>
    public static int Run(string[] args)
    {
        var root = Build();
        if (args.Length == 0)
        {
            root.Parse(["--help"]).Invoke();
            return UsageExitCode;
        }
        var parse = root.Parse(args);
        string name = parse.CommandResult.Command is RootCommand ? "sgnas" : $"sgnas {parse.CommandResult.Command.Name}";
        if (parse.Action is ParseErrorAction)
        {
            foreach (var e in parse.Errors) Console.Error.WriteLine($"{name}: {e.Message}");
            Console.Error.WriteLine($"Run '{name} --help' for the options.");
            return UsageExitCode;
        }
        // Exceptions reach the handlers below (one line each); Ctrl-C is LongRun's, not System.CommandLine's.
        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
        try
        {
            return parse.Invoke(config);
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"{name}: {e.Message}");
            return UsageExitCode;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine($"{name}: cancelled; {LongRun.CurrentKept ?? "the last checkpoint is kept."}");
            return LongRun.CancelledExitCode;
        }
        catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or IOException
                                      or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
        {
            // One line: .NET appends " (Parameter 'x')" and "Actual value was ..." to argument exceptions' messages.
            string message = e.Message.Split('\n')[0];
            if (e is ArgumentException { ParamName: { } param }) message = message.Replace($" (Parameter '{param}')", "");
            Console.Error.WriteLine($"{name}: {message}");
            if (Environment.GetEnvironmentVariable("SGNAS_DEBUG") == "1") Console.Error.WriteLine(e);
            return 1;
        }
    }
}
