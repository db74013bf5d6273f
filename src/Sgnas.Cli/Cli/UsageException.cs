namespace Sgnas.Cli;

/// <summary>
/// Bad command-line input that only the command can see (options that exclude each other, a value that the parser
/// cannot judge alone); printed as one line naming the options, exit code 2 like a parse error.
/// </summary>
public sealed class UsageException(string message) : Exception(message);
