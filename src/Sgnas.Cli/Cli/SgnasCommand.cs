using System.CommandLine;

namespace Sgnas.Cli;

/// <summary>
/// One <c>sgnas</c> sub-command: its options are its <see cref="Option"/> (and <see cref="OptionGroup"/>) fields,
/// collected in declaration order by <see cref="Build"/>; <see cref="Run"/> reads them from the parse result and
/// only maps them to the library's options types (no search or training logic lives in the CLI).
/// </summary>
public abstract class SgnasCommand : OptionGroup
{
    /// <summary><c>--json</c>: every command takes it; stdout then holds the JSON document only.</summary>
    protected readonly Option<bool> JsonOption = CliOptions.Json();

    /// <summary>Command name (kebab-case).</summary>
    public abstract string Name { get; }

    /// <summary>One-line description (command list and the command's help).</summary>
    public abstract string Summary { get; }

    /// <summary>The System.CommandLine command: options, generated help, validation, completions.</summary>
    public Command Build()
    {
        var command = new Command(Name, Summary);
        foreach (var option in Options) command.Options.Add(option);
        Configure(command);
        command.SetAction(Run);
        return command;
    }

    /// <summary>Adds what is not an option field (positional arguments) to the command.</summary>
    protected virtual void Configure(Command command)
    {
    }

    /// <summary>An <see cref="Output"/> for this run (JSON or human; live progress on a terminal). Dispose it.</summary>
    protected Output OpenOutput(ParseResult parse) => new(parse.GetValue(JsonOption));

    /// <summary>Runs the command; returns the process exit code.</summary>
    protected abstract int Run(ParseResult parse);
}
