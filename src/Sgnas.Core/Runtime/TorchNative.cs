using System.Runtime.InteropServices;
using TorchSharp;

namespace Sgnas.Runtime;

/// <summary>
/// Loads TorchSharp's native backend once and turns the usual failure modes into a message that says what to do.
/// </summary>
public static class TorchNative
{
    private static readonly object Gate = new();
    private static bool _loaded;

    /// <summary>Name of the backend this process runs on (cpu or cuda), for messages.</summary>
    public static string BackendName => _loaded && torch.cuda.is_available() ? "cuda" : "cpu";

    /// <summary>Initialises libtorch; throws <see cref="InvalidOperationException"/> with a remedy if it cannot load.</summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            try
            {
                torch.InitializeDeviceType(DeviceType.CPU);
                _loaded = true;
            }
            catch (Exception e) when (e is NotSupportedException or DllNotFoundException or TypeInitializationException)
            {
                string hint = e.ToString().Contains("GLIBCXX", StringComparison.Ordinal)
                    ? " The system libstdc++ is older than the one LibTorchSharp was built against; build through this " +
                      "repository's MSBuild files (they mark the unused GLIBCXX_3.4.32 need weak in the output copy), " +
                      "or install a newer libstdc++."
                    : " Check that the TorchSharp backend package matches this machine (see README: SgnasTorchBackend).";
                throw new InvalidOperationException(
                    $"TorchSharp's native library could not be loaded on {RuntimeInformation.OSDescription}.{hint} Cause: {e.Message}", e);
            }
        }
    }
}
