namespace Sgnas.Cli.Commands;

/// <summary>One <c>sgnas</c> sub-command.</summary>
public interface ICommand
{
    /// <summary>Command name (kebab-case).</summary>
    string Name { get; }
    /// <summary>One-line description for the command list.</summary>
    string Summary { get; }
    /// <summary>Option list for --help.</summary>
    string Usage { get; }
    /// <summary>Runs the command; returns the process exit code.</summary>
    int Run(Args args);
}
