using System.Runtime.InteropServices;
using TorchSharp;

namespace Sgnas.Runtime;

/// <summary>
/// Loads TorchSharp's native backend once and turns the usual failure modes into a message that says what to do.
/// At load it also turns off libtorch's NNPACK convolution path (see <see cref="NnpackDisabled"/>), so runs stay quiet.
/// </summary>
public static class TorchNative
{
    private static readonly object Gate = new();
    private static bool _loaded;

    /// <summary>Name of the backend this process runs on (cpu or cuda), for messages.</summary>
    public static string BackendName => _loaded && torch.cuda.is_available() ? "cuda" : "cpu";

    /// <summary>
    /// True when libtorch's NNPACK path was switched off at load (PyTorch's <c>torch.backends.nnpack.set_flags(False)</c>).
    /// </summary>
    /// <remarks>
    /// libtorch tries NNPACK for convolutions that need no gradient (evaluation, generator training through a
    /// frozen supernet) and, on CPUs NNPACK does not support (this project's AMD EPYC machines), logs
    /// "Could not initialize NNPACK! Reason: Unsupported hardware." on every such call: thousands of lines per run.
    /// TorchSharp 0.107 exposes no switch for it, and libtorch does not read <c>TORCH_CPP_LOG_LEVEL</c> unless
    /// the host calls <c>c10::initLogging</c> (TorchSharp does not; measured in docs/performance.md), so the
    /// exported <c>at::Context::setUserEnabledNNPACK(false)</c> is called directly. The convolution then takes
    /// libtorch's oneDNN or native path, as it already does whenever a gradient is needed; results are the same
    /// convolution up to float rounding.
    /// </remarks>
    public static bool NnpackDisabled { get; private set; }

    /// <summary>
    /// True when glibc's allocator was told to keep freed activation memory for reuse (Linux, see remarks).
    /// </summary>
    /// <remarks>
    /// libtorch allocates every activation and gradient of a CPU step with malloc and frees it when the step's
    /// dispose scope ends. glibc serves blocks above its mmap threshold (at most 32 MiB; a batch of 256 expanded
    /// 28×28 feature maps is 38 MB) with a fresh mmap and unmaps them at free, and trims the heap back to the
    /// system, so every step mapped fresh pages and took a page fault per 4 KB on first touch: hundreds of
    /// thousands of faults, up to a third of the CPU time spent in the kernel (docs/performance.md). Setting
    /// M_MMAP_MAX to 0 (every block from the heap) and M_TRIM_THRESHOLD to 1 GiB keeps freed blocks for the next
    /// step, which then reuses warm pages. The cost is that up to 1 GiB of freed memory stays resident between
    /// steps, which a training or search process reuses anyway.
    /// </remarks>
    public static bool AllocatorTuned { get; private set; }

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
            AllocatorTuned = TryTuneAllocator();
            NnpackDisabled = TryDisableNnpack();
            if (!NnpackDisabled)
                Console.Error.WriteLine(
                    "sgnas: note: could not switch off libtorch's NNPACK path on this platform; on CPUs NNPACK does not " +
                    "support, libtorch may print 'Could not initialize NNPACK' during evaluation. It is harmless.");
        }
    }

    private const int MallocTrimThreshold = -1, MallocMmapMax = -4; // glibc <malloc.h> M_TRIM_THRESHOLD, M_MMAP_MAX

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int MallOpt(int parameter, int value);

    private static bool TryTuneAllocator()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            // mallopt returns 1 on success; musl's stub returns 0 and changes nothing.
            return MallOpt(MallocMmapMax, 0) == 1 & MallOpt(MallocTrimThreshold, 1 << 30) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    // Itanium (Linux, macOS) and MSVC (Windows) names of at::globalContext() and at::Context::setUserEnabledNNPACK(bool).
    private static readonly (string Context, string Setter)[] NnpackExports =
    {
        ("_ZN2at13globalContextEv", "_ZN2at7Context20setUserEnabledNNPACKEb"),
        ("?globalContext@at@@YAAEAVContext@1@XZ", "?setUserEnabledNNPACK@Context@at@@QEAAX_N@Z"),
    };

    private static unsafe bool TryDisableNnpack()
    {
        // libtorch_cpu is already mapped by TorchSharp; loading it by name returns the same handle.
        string[] names = OperatingSystem.IsWindows() ? new[] { "torch_cpu", "torch_cpu.dll" }
            : OperatingSystem.IsMacOS() ? new[] { "libtorch_cpu.dylib", "libtorch_cpu" }
            : new[] { "libtorch_cpu.so", "libtorch_cpu" };
        foreach (var name in names)
        {
            if (!NativeLibrary.TryLoad(name, typeof(torch).Assembly, null, out var lib)) continue;
            foreach (var (contextName, setterName) in NnpackExports)
            {
                if (!NativeLibrary.TryGetExport(lib, contextName, out var contextFn) ||
                    !NativeLibrary.TryGetExport(lib, setterName, out var setterFn)) continue;
                var context = ((delegate* unmanaged<IntPtr>)contextFn)();
                if (context == IntPtr.Zero) return false;
                // A C++ member function: the object pointer is the first argument; bool is one byte.
                ((delegate* unmanaged<IntPtr, byte, void>)setterFn)(context, 0);
                return true;
            }
        }
        return false;
    }
}
