using System.Diagnostics;

namespace Sgnas.Cli.Tests;

/// <summary>Runs sgnas.dll in a fresh process (so native loading is exercised from scratch).</summary>
internal static class CliRunner
{
    public static string SgnasDll => Path.Combine(AppContext.BaseDirectory, "sgnas.dll");

    public static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(SgnasDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(3))) { p.Kill(true); throw new TimeoutException($"sgnas {string.Join(' ', args)} did not finish."); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Starts sgnas.dll with stdout and stderr redirected, with SIGINT at its default disposition: a test run started
    /// in the background (<c>cmd &amp;</c> in a script) inherits SIGINT ignored, and .NET then never sees a Ctrl-C.
    /// </summary>
    public static Process StartForSignals(params string[] args)
    {
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // env execs dotnet in place, so the process id is the one the signal must reach.
        foreach (var a in new[] { "--default-signal=INT", "dotnet", SgnasDll }.Concat(args)) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }
}
