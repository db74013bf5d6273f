using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Sgnas.Training;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Sgnas.Cli;

/// <summary>
/// Where a command writes. With --json, stdout holds only the JSON document; logs and progress go to stderr.
/// On a terminal (stdout and stderr both, and <c>SGNAS_PLAIN</c> unset) progress is a live Spectre.Console display
/// on stderr, and tables are drawn with Spectre.Console; otherwise (CI logs, pipes, tests) progress is one plain
/// line per update (<see cref="ConsoleProgress"/>) and tables are aligned text. Dispose it to end the live display.
/// </summary>
public sealed class Output : IDisposable
{
    /// <summary>JSON settings of every command's output: camelCase, indented.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private LiveProgress? _live;

    /// <summary>True when the command was asked for JSON.</summary>
    public bool Json { get; }

    /// <summary>True when output goes to a terminal: live progress bars and drawn tables.</summary>
    public static bool Interactive =>
        !Console.IsOutputRedirected && !Console.IsErrorRedirected && Environment.GetEnvironmentVariable("SGNAS_PLAIN") is null or "" or "0";

    /// <summary>Creates the output for one command run.</summary>
    public Output(bool json) => Json = json;

    /// <summary>A log line (stderr when JSON is requested, otherwise stdout; above the live display when one runs).</summary>
    public void Log(string line)
    {
        if (_live is { } live) live.Log(line);
        else (Json ? Console.Error : Console.Out).WriteLine(line);
    }

    /// <summary>Writes the command's result: JSON on stdout, or the human text.</summary>
    public void Result(object jsonValue, Func<string> human)
    {
        EndLive();
        if (Json) Console.Out.WriteLine(JsonSerializer.Serialize(jsonValue, JsonOptions));
        else Console.Out.WriteLine(human());
    }

    /// <summary>Writes a JSON document serialised by the caller (with its own settings) on stdout.</summary>
    public void JsonText(string json)
    {
        EndLive();
        Console.Out.WriteLine(json);
    }

    /// <summary>
    /// Writes a result that is a table: JSON on stdout; on a terminal a Spectre.Console table (under
    /// <paramref name="title"/>); otherwise aligned plain columns (first column left, the others right).
    /// </summary>
    public void ResultTable(object jsonValue, string title, string[] headers, IEnumerable<string[]> rows, string? footer = null)
    {
        EndLive();
        if (Json) { Console.Out.WriteLine(JsonSerializer.Serialize(jsonValue, JsonOptions)); return; }
        var list = rows.ToList();
        if (Interactive)
        {
            var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(title));
            for (int c = 0; c < headers.Length; c++)
            {
                var column = new TableColumn(Markup.Escape(headers[c]));
                if (c > 0) column.RightAligned();
                table.AddColumn(column);
            }
            foreach (var r in list) table.AddRow(r.Select(cell => (IRenderable)new Text(cell)).ToArray());
            AnsiConsole.Write(table);
            if (footer is not null) Console.Out.WriteLine(footer);
            return;
        }
        Console.Out.WriteLine(PlainTable(title, headers, list) + (footer is null ? "" : "\n" + footer));
    }

    /// <summary>Aligned text of a table: title line, header, rows; first column left-aligned, the others right.</summary>
    public static string PlainTable(string title, string[] headers, IReadOnlyList<string[]> rows)
    {
        var widths = headers.Select((h, c) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => c < r.Length ? r[c].Length : 0))).ToArray();
        string Line(string[] cells) => string.Join("  ", cells.Select((s, c) => c == 0 ? s.PadRight(widths[c]) : s.PadLeft(widths[c]))).TrimEnd();
        return string.Join('\n', new[] { title, Line(headers) }.Concat(rows.Select(Line)));
    }

    /// <summary>The progress sink of this run: a live bar display on a terminal, plain lines on stderr otherwise.</summary>
    public IProgress<TrainingProgress> Progress()
    {
        if (!Interactive) return new ConsoleProgress();
        return _live ??= new LiveProgress();
    }

    private void EndLive()
    {
        _live?.Dispose();
        _live = null;
    }

    /// <inheritdoc />
    public void Dispose() => EndLive();
}

/// <summary>
/// Progress as plain lines on stderr (logs, CI, tests): one line per finished epoch, plus a line at most every
/// <see cref="PlainLineSeconds"/> seconds, so a long search shows it is alive.
/// </summary>
public sealed class ConsoleProgress : IProgress<TrainingProgress>
{
    /// <summary>Seconds between plain progress lines.</summary>
    public static double PlainLineSeconds { get; set; } = 10;
    private DateTime _lastDraw = DateTime.MinValue;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    /// <inheritdoc />
    public void Report(TrainingProgress p)
    {
        if (p.EpochDone)
        {
            Console.Error.WriteLine($"[{p.Stage}] epoch {p.Epoch}/{p.Epochs}  {Metrics(p)}  ({_clock.Elapsed:hh\\:mm\\:ss})");
            return;
        }
        if (_lastDraw != DateTime.MinValue && (DateTime.UtcNow - _lastDraw).TotalSeconds < PlainLineSeconds) return;
        _lastDraw = DateTime.UtcNow;
        Console.Error.WriteLine($"[{p.Stage}] epoch {p.Epoch}/{p.Epochs} step {p.Step}/{p.Steps}  {Metrics(p)}  ({_clock.Elapsed:hh\\:mm\\:ss})");
    }

    /// <summary>The metrics of a report as "name value" pairs.</summary>
    internal static string Metrics(TrainingProgress p) => string.Join("  ", p.Metrics.Select(kv => $"{kv.Key} {Format(kv.Value)}"));

    private static string Format(double v) => Math.Abs(v) >= 100 ? v.ToString("F1") : v.ToString("F4");
}

/// <summary>
/// A Spectre.Console progress display on stderr, one bar per stage, started on the first report. Spectre's live
/// display must own the console while it runs, so it runs on its own thread and everything it shows (bars, log
/// lines, finished-epoch lines) is queued to that thread; <see cref="Dispose"/> drains the queue and ends it.
/// </summary>
internal sealed class LiveProgress : IProgress<TrainingProgress>, IDisposable
{
    private readonly IAnsiConsole _console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
    private readonly ConcurrentQueue<TrainingProgress> _reports = new();
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly ManualResetEventSlim _done = new();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private readonly Thread _thread;

    public LiveProgress()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "sgnas-progress" };
        _thread.Start();
    }

    public void Report(TrainingProgress p) => _reports.Enqueue(p);

    public void Log(string line) => _lines.Enqueue(line);

    private void Loop()
    {
        var tasks = new Dictionary<string, ProgressTask>();
        _console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                while (true)
                {
                    bool last = _done.Wait(100);
                    while (_lines.TryDequeue(out var line)) _console.WriteLine(line);
                    while (_reports.TryDequeue(out var p))
                    {
                        if (!tasks.TryGetValue(p.Stage, out var task))
                        {
                            // An earlier stage that did not report its end is finished once the next one starts.
                            foreach (var t in tasks.Values) if (!t.IsFinished) t.StopTask();
                            tasks[p.Stage] = task = ctx.AddTask(Markup.Escape(p.Stage), maxValue: Math.Max(1, (double)p.Epochs * p.Steps));
                        }
                        task.MaxValue = Math.Max(1, (double)p.Epochs * p.Steps);
                        task.Value = Math.Min(task.MaxValue, (double)(p.Epoch - 1) * p.Steps + p.Step);
                        // The bar needs room: metrics join the description only on a wide terminal (they are in the
                        // finished-epoch lines above the bars anyway).
                        string label = $"{p.Stage} epoch {p.Epoch}/{p.Epochs}";
                        if (_console.Profile.Width >= 140) label += "  " + ConsoleProgress.Metrics(p);
                        task.Description = Markup.Escape(label);
                        if (p.EpochDone)
                            _console.WriteLine($"[{p.Stage}] epoch {p.Epoch}/{p.Epochs}  {ConsoleProgress.Metrics(p)}  ({_clock.Elapsed:hh\\:mm\\:ss})");
                    }
                    ctx.Refresh();
                    if (last) break;
                }
            });
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        _done.Set();
        _thread.Join();
        _done.Dispose();
    }

    private bool _disposed;
}
