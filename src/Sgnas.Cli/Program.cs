// sgnas <command> [options]: System.CommandLine parses (CliApp), each command lives in Commands/ and only maps its
// options to the library's options types; no search or training logic lives here.
return Sgnas.Cli.CliApp.Run(args);
