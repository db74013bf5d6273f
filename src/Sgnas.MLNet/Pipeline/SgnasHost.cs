using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Runtime;
using Sgnas.Training;

namespace Sgnas.MLNet.Pipeline;

/// <summary>
/// What an estimator takes from the MLContext whose catalog created it: the seed (when the options leave it null)
/// and the log (<c>MLContext.Log</c>). ML.NET keeps both behind internal members of its catalogs (the
/// <c>IInternalCatalog.Environment</c> of every catalog, the <c>Seed</c> of the environment); they are read by
/// reflection, and an estimator built without a catalog, or on an ML.NET whose internals differ, simply gets
/// neither (seed 0, no log): nothing fails because of it.
/// </summary>
internal sealed class SgnasHost
{
    public static readonly SgnasHost None = new(null, null);

    private readonly IHostEnvironment? _env;

    private SgnasHost(IHostEnvironment? env, int? seed)
    {
        _env = env;
        Seed = seed;
    }

    /// <summary>The MLContext's seed; null when it has none or it could not be read.</summary>
    public int? Seed { get; }

    /// <summary>True when messages reach an MLContext's log.</summary>
    public bool HasLog => _env is not null;

    public static SgnasHost FromContext(MLContext? ml) => ml is null ? None : FromEnvironment(ml as IHostEnvironment ?? FindEnvironment(ml));

    /// <summary>From any ML.NET catalog or sub-catalog (TransformsCatalog, MulticlassClassificationTrainers, ...).</summary>
    public static SgnasHost FromCatalog(object? catalog) => catalog is null ? None : FromEnvironment(FindEnvironment(catalog));

    private static SgnasHost FromEnvironment(IHostEnvironment? env) => env is null ? None : new SgnasHost(env, ReadSeed(env));

    private static IHostEnvironment? FindEnvironment(object o)
    {
        const BindingFlags all = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        try
        {
            for (var t = o.GetType(); t is not null; t = t.BaseType)
            {
                foreach (var p in t.GetProperties(all))
                    if (typeof(IHostEnvironment).IsAssignableFrom(p.PropertyType) && p.GetIndexParameters().Length == 0
                        && (p.Name == "Environment" || p.Name.EndsWith(".Environment", StringComparison.Ordinal))
                        && p.GetValue(o) is IHostEnvironment env)
                        return env;
                foreach (var f in t.GetFields(all))
                    if (typeof(IHostEnvironment).IsAssignableFrom(f.FieldType) && f.GetValue(o) is IHostEnvironment env)
                        return env;
            }
        }
        catch (Exception e) when (e is TargetInvocationException or MemberAccessException or NotSupportedException)
        {
        }
        return null;
    }

    private static int? ReadSeed(IHostEnvironment env)
    {
        const BindingFlags all = BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic;
        try
        {
            for (var t = env.GetType(); t is not null; t = t.BaseType)
                foreach (var p in t.GetProperties(all))
                    if ((p.Name == "Seed" || p.Name.EndsWith(".Seed", StringComparison.Ordinal)) && p.GetIndexParameters().Length == 0
                        && (p.PropertyType == typeof(int?) || p.PropertyType == typeof(int)))
                        return p.GetValue(env) is int s ? s : null;
        }
        catch (Exception e) when (e is TargetInvocationException or MemberAccessException or NotSupportedException)
        {
        }
        return null;
    }

    /// <summary>Writes one informational line to the MLContext's log (source "Sgnas.&lt;stage&gt;").</summary>
    public void Info(string stage, string message)
    {
        if (_env is null) return;
        if (InfoMethod is null) return;
        using var ch = _env.Start("Sgnas." + stage);
        InfoMethod.Invoke(null, new object[] { ch, message });
    }

    // Microsoft.ML.Runtime.HostExtensions.Info(IChannel, string): the one way to write an info message to
    // MLContext.Log; ML.NET marks it internal (BestFriend), so it is looked up once here.
    private static readonly MethodInfo? InfoMethod = typeof(IChannel).Assembly.GetType("Microsoft.ML.Runtime.HostExtensions")
        ?.GetMethod("Info", BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic, new[] { typeof(IChannel), typeof(string) });

    /// <summary>The user's progress sink, plus epoch summaries to the MLContext's log.</summary>
    public IProgress<TrainingProgress>? WrapProgress(IProgress<TrainingProgress>? user, string stage)
    {
        if (_env is null) return user;
        return new LogProgress(this, user);
    }

    private sealed class LogProgress(SgnasHost host, IProgress<TrainingProgress>? user) : IProgress<TrainingProgress>
    {
        public void Report(TrainingProgress value)
        {
            user?.Report(value);
            if (value.EpochDone)
                host.Info(value.Stage, $"epoch {value.Epoch}/{value.Epochs} " +
                    string.Join(" ", value.Metrics.Select(m => FormattableString.Invariant($"{m.Key}={m.Value:G5}"))));
        }
    }
}

/// <summary>Where one Fit writes: see <see cref="SgnasEstimatorOptions.RunFolder"/>.</summary>
internal static class RunFolders
{
    public static string Resolve(string? requested, bool continueRun, SgnasHost host, string stage)
    {
        if (requested is null)
        {
            // Time for people, a random suffix so that two Fits in the same second never share a folder.
            string fresh = Path.Combine(Environment.CurrentDirectory, "sgnas-runs",
                DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6]);
            host.Info(stage, $"run folder {fresh}");
            return fresh;
        }
        string path = Path.GetFullPath(requested);
        if (continueRun || IsFree(path)) return path;
        for (int k = 2; ; k++)
        {
            string sibling = path.TrimEnd(Path.DirectorySeparatorChar) + "-" + k.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (IsFree(sibling))
            {
                host.Info(stage, $"run folder {path} already holds a run; this fit writes into {sibling}");
                return sibling;
            }
        }
    }

    // The writer's lock files (RunLock) do not make a run: a caller holding the folder's lock (the CLI's demo) still
    // gets its own folder.
    internal static bool IsFree(string path) => !File.Exists(path) && (!Directory.Exists(path) ||
        !Directory.EnumerateFileSystemEntries(path).Any(e => !Path.GetFileName(e).StartsWith(Sgnas.IO.RunLock.FileName, StringComparison.Ordinal)));
}
