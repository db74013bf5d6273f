using System.CommandLine;

namespace Sgnas.Cli.Commands;

/// <summary>
/// <c>sgnas completions bash|zsh|pwsh</c>: prints a shell function that asks sgnas itself for completions through
/// System.CommandLine's <c>[suggest:POSITION]</c> directive (commands, options, and the values of options that have
/// a fixed set: presets, strategies, devices, ...). Install with e.g. <c>source &lt;(sgnas completions bash)</c>
/// (docs/cli.md).
/// </summary>
public sealed class CompletionsCommand : SgnasCommand
{
    private readonly Argument<string> _shell = new("shell") { Description = "bash, zsh or pwsh" };

    /// <summary>Creates the command.</summary>
    public CompletionsCommand()
    {
        _shell.CompletionSources.Add("bash", "zsh", "pwsh");
        _shell.AcceptOnlyFromAmong("bash", "zsh", "pwsh");
    }

    public override string Name => "completions";
    public override string Summary => "Print a shell completion script (bash, zsh or pwsh) that completes commands, options and values.";

    /// <inheritdoc />
    protected override void Configure(Command command) => command.Arguments.Add(_shell);

    protected override int Run(ParseResult parse)
    {
        string shell = parse.GetValue(_shell)!;
        string script = shell switch
        {
            // COMP_LINE is the whole line and COMP_POINT the cursor; the directive takes both.
            "bash" => """
                _sgnas_complete() {
                  local IFS=$'\n'
                  COMPREPLY=($(compgen -W "$(sgnas "[suggest:${COMP_POINT}]" "${COMP_LINE}" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
                }
                complete -o default -F _sgnas_complete sgnas
                """,
            "zsh" => """
                _sgnas_complete() {
                  local -a items
                  items=("${(@f)$(sgnas "[suggest:${#BUFFER}]" "$BUFFER" 2>/dev/null)}")
                  compadd -a items
                }
                compdef _sgnas_complete sgnas
                """,
            "pwsh" => """
                Register-ArgumentCompleter -Native -CommandName sgnas -ScriptBlock {
                  param($wordToComplete, $commandAst, $cursorPosition)
                  sgnas "[suggest:$cursorPosition]" "$commandAst" | ForEach-Object {
                    [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
                  }
                }
                """,
            _ => throw new UsageException($"completions: '{shell}' is not bash, zsh or pwsh."),
        };
        Console.Out.WriteLine(script);
        return 0;
    }
}
