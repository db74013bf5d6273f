using System.Diagnostics;
using System.Reflection;

namespace Sgnas.MLNet.Tests;

/// <summary>Runs examples/Sgnas.Predict (ML.NET + ONNX Runtime only, no TorchSharp) in its own process.</summary>
internal static class PredictApp
{
    public static string Directory => typeof(PredictApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "SgnasPredictDir").Value!;

    public static string Dll => Path.Combine(Directory, "Sgnas.Predict.dll");

    public static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(2))) { p.Kill(true); throw new TimeoutException($"{Dll} did not finish."); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
