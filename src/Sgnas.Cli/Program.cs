using Sgnas.Cli;
using Sgnas.Cli.Commands;

// sgnas <command> [--options]. Each command lives in Commands/ and only parses options into the library's
// options types; no search or training logic lives here.
var commands = new ICommand[]
{
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
    new BenchCommand(),
    new DemoCommand(),
    new ExperimentCommand(),
};

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.WriteLine("usage: sgnas <command> [options]\n\ncommands:");
    foreach (var c in commands) Console.WriteLine($"  {c.Name,-18} {c.Summary}");
    Console.WriteLine("\nEvery command accepts --json (machine-readable stdout) and --help.");
    return args.Length == 0 ? 2 : 0;
}

var command = commands.FirstOrDefault(c => c.Name == args[0]);
if (command is null)
{
    Console.Error.WriteLine($"sgnas: unknown command '{args[0]}'. Run 'sgnas --help' for the list.");
    return 2;
}
if (args.Skip(1).Any(a => a is "--help" or "-h"))
{
    Console.WriteLine($"sgnas {command.Name}: {command.Summary}\n{command.Usage}");
    return 0;
}
try
{
    var parsed = new Args(args.Skip(1));
    return command.Run(parsed);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"sgnas {command.Name}: {e.Message}");
    return 2;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine($"sgnas {command.Name}: cancelled; {LongRun.CurrentKept ?? "the last checkpoint is kept."}");
    return LongRun.CancelledExitCode;
}
catch (Exception e) when (e is ArgumentException or FormatException or InvalidOperationException or IOException
                              or InvalidDataException or UnauthorizedAccessException or NotSupportedException)
{
    // One line: .NET appends " (Parameter 'x')" and "Actual value was ..." to argument exceptions' messages.
    string message = e.Message.Split('\n')[0];
    if (e is ArgumentException { ParamName: { } param }) message = message.Replace($" (Parameter '{param}')", "");
    Console.Error.WriteLine($"sgnas {command.Name}: {message}");
    if (Environment.GetEnvironmentVariable("SGNAS_DEBUG") == "1") Console.Error.WriteLine(e);
    return 1;
}
