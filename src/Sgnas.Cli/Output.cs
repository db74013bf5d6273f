using System.Text.Json;
using System.Text.Json.Serialization;
using Sgnas.Training;

namespace Sgnas.Cli;

/// <summary>
/// Where a command writes. With --json, stdout holds only the JSON document; progress and logs go to stderr.
/// </summary>
public sealed class Output
{
    /// <summary>JSON settings of every command's output: camelCase, indented.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>True when the command was asked for JSON.</summary>
    public bool Json { get; }

    /// <summary>Creates the output for one command run.</summary>
    public Output(bool json) => Json = json;

    /// <summary>A log line (stderr when JSON is requested, otherwise stdout).</summary>
    public void Log(string line) => (Json ? Console.Error : Console.Out).WriteLine(line);

    /// <summary>Writes the command's result: JSON on stdout, or the human text.</summary>
    public void Result(object jsonValue, Func<string> human)
    {
        if (Json) Console.Out.WriteLine(JsonSerializer.Serialize(jsonValue, JsonOptions));
        else Console.Out.WriteLine(human());
    }

    /// <summary>A progress sink drawing a bar on stderr.</summary>
    public IProgress<TrainingProgress> Progress() => new ConsoleProgress();
}

/// <summary>
/// Progress bar on stderr: redrawn in place on a terminal; otherwise (logs, CI) one line per epoch plus a plain
/// progress line at most every <see cref="PlainLineSeconds"/> seconds, so a long search shows it is alive.
/// </summary>
public sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    private readonly bool _interactive = !Console.IsErrorRedirected;

    /// <summary>Seconds between plain progress lines when stderr is not a terminal.</summary>
    public static double PlainLineSeconds { get; set; } = 10;
    private DateTime _lastDraw = DateTime.MinValue;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    /// <inheritdoc />
    public void Report(TrainingProgress p)
    {
        string metrics = string.Join("  ", p.Metrics.Select(kv => $"{kv.Key} {Format(kv.Value)}"));
        if (p.EpochDone)
        {
            if (_interactive) Console.Error.Write("\r\x1b[K");
            Console.Error.WriteLine($"[{p.Stage}] epoch {p.Epoch}/{p.Epochs}  {metrics}  ({_clock.Elapsed:hh\\:mm\\:ss})");
            return;
        }
        if (!_interactive)
        {
            if (_lastDraw != DateTime.MinValue && (DateTime.UtcNow - _lastDraw).TotalSeconds < PlainLineSeconds) return;
            _lastDraw = DateTime.UtcNow;
            Console.Error.WriteLine($"[{p.Stage}] epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.Steps}  {metrics}  ({_clock.Elapsed:hh\\:mm\\:ss})");
            return;
        }
        if ((DateTime.UtcNow - _lastDraw).TotalMilliseconds < 200) return;
        _lastDraw = DateTime.UtcNow;
        const int width = 30;
        int filled = (int)Math.Round(width * Math.Clamp(p.Fraction, 0, 1));
        Console.Error.Write($"\r\x1b[K[{p.Stage}] [{new string('#', filled)}{new string('.', width - filled)}] " +
                            $"epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.Steps}  {metrics}");
    }

    private static string Format(double v) => Math.Abs(v) >= 100 ? v.ToString("F1") : v.ToString("F4");
}
