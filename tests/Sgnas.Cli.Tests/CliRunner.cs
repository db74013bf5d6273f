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
    /// Runs sgnas.dll, waits for the first stderr line that <paramref name="isFirstLine"/> accepts, sends SIGINT and
    /// waits for the process to end; returns its exit code, stdout and every stderr line. SIGINT is put back to its
    /// default disposition for the child (<c>env --default-signal=INT</c>): a test run started in the background
    /// (<c>cmd &amp;</c> in a script) inherits SIGINT ignored, and .NET then never sees a Ctrl-C. The child is killed
    /// if an assertion fails first, so a failed test leaves nothing running.
    /// </summary>
    /// <param name="isFirstLine">The stderr line after which to interrupt.</param>
    /// <param name="firstLineWhat">What that line is, for the failure message.</param>
    /// <param name="args">The sgnas command line.</param>
    public static (int Exit, string Stdout, string Stderr) Interrupt(Func<string, bool> isFirstLine, string firstLineWhat, params string[] args)
    {
        var psi = new ProcessStartInfo("env") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // env execs dotnet in place, so the process id is the one the signal must reach.
        foreach (var a in new[] { "--default-signal=INT", "dotnet", SgnasDll }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        try
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var lines = new List<string>();
            var firstLine = new TaskCompletionSource();
            var stderrDone = Task.Run(() =>
            {
                string? line;
                while ((line = p.StandardError.ReadLine()) != null)
                {
                    lock (lines) lines.Add(line);
                    if (isFirstLine(line)) firstLine.TrySetResult();
                }
            });
            Assert.True(firstLine.Task.Wait(TimeSpan.FromMinutes(2)), $"no {firstLineWhat} on redirected stderr: " + Joined(lines));
            using (var kill = Process.Start("kill", ["-INT", p.Id.ToString()])) kill.WaitForExit();
            Assert.True(p.WaitForExit(TimeSpan.FromMinutes(1)), $"{args[0]} did not stop after SIGINT");
            stderrDone.Wait(TimeSpan.FromSeconds(10));
            return (p.ExitCode, stdout.Result, Joined(lines));
        }
        finally
        {
            try { if (!p.HasExited) p.Kill(true); } catch (InvalidOperationException) { }
        }
    }

    private static string Joined(List<string> lines)
    {
        lock (lines) return string.Join("\n", lines);
    }
}
