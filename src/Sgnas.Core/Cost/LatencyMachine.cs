using System.Runtime.InteropServices;

namespace Sgnas.Cost;

/// <summary>The machine a latency table was measured on.</summary>
public sealed record LatencyMachine
{
    /// <summary>CPU model name (from /proc/cpuinfo on Linux), or the architecture when unknown.</summary>
    public required string Cpu { get; init; }
    /// <summary>Logical processors the process sees.</summary>
    public required int LogicalCores { get; init; }
    /// <summary>Operating system description.</summary>
    public required string Os { get; init; }
    /// <summary>.NET runtime description.</summary>
    public required string DotNet { get; init; }
    /// <summary>1-minute load average when the measurement started (Linux), or null; above the core count means noisy numbers.</summary>
    public double? LoadAverage { get; init; }

    /// <summary>Describes the current machine.</summary>
    public static LatencyMachine Current() => new()
    {
        Cpu = CpuModel(),
        LogicalCores = Environment.ProcessorCount,
        Os = RuntimeInformation.OSDescription,
        DotNet = RuntimeInformation.FrameworkDescription,
        LoadAverage = LoadAverage1(),
    };

    private static string CpuModel()
    {
        try
        {
            if (File.Exists("/proc/cpuinfo"))
                foreach (string line in File.ReadLines("/proc/cpuinfo"))
                    if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is int i and > 0)
                        return line[(i + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static double? LoadAverage1()
    {
        try
        {
            if (!File.Exists("/proc/loadavg")) return null;
            string first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            return double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double v) ? v : null;
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }
}
