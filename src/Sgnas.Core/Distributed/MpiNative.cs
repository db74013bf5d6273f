using System.Runtime.InteropServices;

namespace Sgnas.Distributed;

/// <summary>
/// A thin binding of the dozen MPI calls this project needs, against Open MPI's <c>libmpi.so.40</c>
/// (Debian <c>libopenmpi3</c>/<c>openmpi-bin</c>), loaded only when <see cref="MpiLaunch.Detect()"/> found a launch.
/// </summary>
/// <remarks>
/// Why not MPI.NET (NuGet 1.4.0): checked, it P/Invokes <c>msmpi.dll</c> and passes MS-MPI's 32-bit integer handles
/// (<c>MPI_COMM_WORLD</c> = 0x44000000); in Open MPI handles are the addresses of exported objects
/// (<c>ompi_mpi_comm_world</c>, <c>ompi_mpi_float</c>, <c>ompi_mpi_op_sum</c>, …), so the package cannot talk to the
/// MPI that Linux clusters run. A binding of the few calls used keeps the dependency at the system
/// library the launcher itself belongs to (docs/distributed.md §1). Handles are resolved with
/// <see cref="NativeLibrary.GetExport"/>; <c>MPI_IN_PLACE</c> is Open MPI's <c>(void*)1</c>.
/// The library is opened with <c>RTLD_GLOBAL</c> first, because Open MPI's plug-ins (loaded with <c>dlopen</c>
/// inside <c>MPI_Init</c>) resolve symbols of <c>libmpi</c> globally.
/// </remarks>
internal static unsafe class MpiNative
{
    /// <summary>Environment variable naming the MPI library to load instead of the default.</summary>
    public const string LibraryVariable = "SGNAS_MPI_LIBRARY";

    public const int ThreadSingle = 0, ThreadFunneled = 1, ThreadSerialized = 2, ThreadMultiple = 3;
    public static readonly IntPtr InPlace = 1;

    public static IntPtr CommWorld, Float, Double, LongLong, Byte, Int, OpSum;

    public static delegate* unmanaged<int*, int> Initialized;
    public static delegate* unmanaged<int*, int> Finalized;
    public static delegate* unmanaged<int*, IntPtr, int, int*, int> InitThread;
    public static delegate* unmanaged<int> FinalizeMpi;
    public static delegate* unmanaged<IntPtr, int*, int> CommRank;
    public static delegate* unmanaged<IntPtr, int*, int> CommSize;
    public static delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int> Allreduce;
    public static delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, int, IntPtr, IntPtr, int> Allgather;
    public static delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, int*, int*, IntPtr, IntPtr, int> Allgatherv;
    public static delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int> Bcast;
    public static delegate* unmanaged<IntPtr, int> Barrier;
    public static delegate* unmanaged<IntPtr, int, int> AbortMpi;

    private static IntPtr s_library;

    [DllImport("libc", EntryPoint = "dlopen")]
    private static extern IntPtr DlOpen(string file, int mode);

    private const int RtldNow = 2, RtldGlobal = 0x100;

    /// <summary>Loads the library and resolves every symbol once; throws with the library name and the fix if it fails.</summary>
    public static void Load()
    {
        if (s_library != IntPtr.Zero) return;
        var candidates = Environment.GetEnvironmentVariable(LibraryVariable) is { Length: > 0 } own
            ? new[] { own }
            : new[] { "libmpi.so.40", "libmpi.so" };
        string? errors = null;
        foreach (var name in candidates)
        {
            try { _ = DlOpen(name, RtldNow | RtldGlobal); } catch (DllNotFoundException) { } catch (EntryPointNotFoundException) { }
            if (NativeLibrary.TryLoad(name, out var handle)) { s_library = handle; break; }
            errors += (errors is null ? "" : ", ") + name;
        }
        if (s_library == IntPtr.Zero)
            throw new DllNotFoundException(
                $"Launched under MPI but no Open MPI library could be loaded (tried {errors}). Install Open MPI " +
                $"(Debian: apt-get install openmpi-bin libopenmpi-dev) or set {LibraryVariable} to the path of libmpi.so.");
        CommWorld = Symbol("ompi_mpi_comm_world");
        Float = Symbol("ompi_mpi_float");
        Double = Symbol("ompi_mpi_double");
        LongLong = Symbol("ompi_mpi_long_long_int");
        Byte = Symbol("ompi_mpi_byte");
        Int = Symbol("ompi_mpi_int");
        OpSum = Symbol("ompi_mpi_op_sum");
        Initialized = (delegate* unmanaged<int*, int>)Symbol("MPI_Initialized");
        Finalized = (delegate* unmanaged<int*, int>)Symbol("MPI_Finalized");
        InitThread = (delegate* unmanaged<int*, IntPtr, int, int*, int>)Symbol("MPI_Init_thread");
        FinalizeMpi = (delegate* unmanaged<int>)Symbol("MPI_Finalize");
        CommRank = (delegate* unmanaged<IntPtr, int*, int>)Symbol("MPI_Comm_rank");
        CommSize = (delegate* unmanaged<IntPtr, int*, int>)Symbol("MPI_Comm_size");
        Allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int>)Symbol("MPI_Allreduce");
        Allgather = (delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, int, IntPtr, IntPtr, int>)Symbol("MPI_Allgather");
        Allgatherv = (delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, int*, int*, IntPtr, IntPtr, int>)Symbol("MPI_Allgatherv");
        Bcast = (delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int>)Symbol("MPI_Bcast");
        Barrier = (delegate* unmanaged<IntPtr, int>)Symbol("MPI_Barrier");
        AbortMpi = (delegate* unmanaged<IntPtr, int, int>)Symbol("MPI_Abort");
    }

    private static IntPtr Symbol(string name) =>
        NativeLibrary.TryGetExport(s_library, name, out var address)
            ? address
            : throw new EntryPointNotFoundException(
                $"The loaded MPI library has no symbol '{name}': it is not Open MPI (this binding uses Open MPI's ABI; see docs/distributed.md §1).");

    /// <summary>Throws when an MPI call returned an error code (Open MPI's default handler aborts before that; this covers MPI_ERRORS_RETURN).</summary>
    public static void Check(int code, string call)
    {
        if (code != 0) throw new InvalidOperationException($"{call} failed with MPI error code {code}.");
    }
}
