using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Sgnas.SearchSpace;

namespace Sgnas.Cli;

/// <summary>
/// Factories of the options the commands share, and of typed options with range checks. Each call makes a new
/// <see cref="Option"/> (a command owns its options), so a shared option is spelled, described and validated in one
/// place. Errors name the option and the value: "--epochs must be at least 1; got 0."
/// </summary>
public static class CliOptions
{
    /// <summary>Names of the built-in presets, offered as completions of <c>--preset</c>.</summary>
    public static readonly string[] PresetNames = { "fashion-small", "cifar", "imagenet", "mobilenetv2" };

    /// <summary><c>--json</c>: the result as JSON on stdout; logs and progress go to stderr.</summary>
    public static Option<bool> Json() => Flag("--json", "write the result as JSON on stdout (logs and progress go to stderr)");

    /// <summary>
    /// <c>--data</c> (alias <c>--dataset</c>, the old spelling of search and compare): an IDX folder or file, a CIFAR
    /// binary folder (any subset of its batch files) or an image-folder tree (one sub-folder per class).
    /// </summary>
    public static Option<string?> Data(string description = "training data: IDX folder/file, CIFAR binary folder or image-folder tree (default Fashion-MNIST)") =>
        new("--data", "--dataset") { Description = description, HelpName = "PATH" };

    /// <summary><c>--run DIR</c>, a run folder (required).</summary>
    public static Option<string> Run(string description = "run folder holding supernet.pt/json") =>
        new("--run") { Description = description, HelpName = "DIR", Required = true };

    /// <summary><c>--out</c>, an output folder or file.</summary>
    public static Option<string?> Out(string description, bool required = false, string helpName = "DIR") =>
        new("--out") { Description = description, HelpName = helpName, Required = required };

    /// <summary><c>--preset NAME|FILE</c>, a built-in preset or a preset JSON file.</summary>
    public static Option<string> Preset(string fallback = "fashion-small")
    {
        var o = new Option<string>("--preset")
        {
            Description = $"search space: {string.Join(", ", PresetNames)} or a preset JSON file",
            HelpName = "NAME|FILE",
            DefaultValueFactory = _ => fallback,
        };
        o.CompletionSources.Add(PresetNames);
        return o;
    }

    /// <summary><c>--device D</c>: cpu, cuda or cuda:N.</summary>
    public static Option<string> Device(string fallback = "cpu")
    {
        var o = new Option<string>("--device") { Description = "cpu, cuda or cuda:N", HelpName = "D", DefaultValueFactory = _ => fallback };
        o.CompletionSources.Add("cpu", "cuda", "cuda:0");
        return o;
    }

    /// <summary><c>--threads N</c>: libtorch intra-op threads (absent: libtorch's choice).</summary>
    public static Option<int?> Threads(string description = "libtorch intra-op threads (default: libtorch's choice; 1 is often faster on a busy machine)") =>
        IntOrNull("--threads", description, min: 1);

    /// <summary><c>--seed N</c>.</summary>
    public static Option<int> Seed(int fallback = 0, string description = "random seed") => Int("--seed", description, fallback);

    /// <summary><c>--resume</c>.</summary>
    public static Option<bool> Resume(string description) => Flag("--resume", description);

    /// <summary>A flag (<c>--name</c>, or <c>--name true|false</c>).</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>A string option with no default.</summary>
    public static Option<string?> Text(string name, string description, string helpName = "TEXT", bool required = false) =>
        new(name) { Description = description, HelpName = helpName, Required = required };

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>] with a default.</summary>
    public static Option<int> Int(string name, string description, int fallback, int min = int.MinValue, int max = int.MaxValue, string helpName = "N")
    {
        var o = new Option<int>(name) { Description = description, HelpName = helpName, DefaultValueFactory = _ => fallback };
        o.Validators.Add(r => { if (Value<int>(r) is int v) CheckRange(r, name, v, min, max); });
        return o;
    }

    /// <summary>An optional integer in [<paramref name="min"/>, <paramref name="max"/>] (null when absent).</summary>
    public static Option<int?> IntOrNull(string name, string description, int min = int.MinValue, int max = int.MaxValue, string helpName = "N")
    {
        var o = new Option<int?>(name) { Description = description, HelpName = helpName };
        o.Validators.Add(r => { if (Value<int?>(r) is int v) CheckRange(r, name, v, min, max); });
        return o;
    }

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>] (bounds excluded where asked) with a default.</summary>
    public static Option<double> Double(string name, string description, double fallback, double min = double.MinValue, double max = double.MaxValue,
        bool minExclusive = false, bool maxExclusive = false, string helpName = "X")
    {
        var o = new Option<double>(name) { Description = description, HelpName = helpName, DefaultValueFactory = _ => fallback };
        o.Validators.Add(r => { if (Value<double>(r) is double v) CheckRange(r, name, v, min, max, minExclusive, maxExclusive); });
        return o;
    }

    /// <summary>An optional finite number (null when absent).</summary>
    public static Option<double?> DoubleOrNull(string name, string description, double min = double.MinValue, double max = double.MaxValue,
        bool minExclusive = false, bool maxExclusive = false, string helpName = "X")
    {
        var o = new Option<double?>(name) { Description = description, HelpName = helpName };
        o.Validators.Add(r => { if (Value<double?>(r) is double v) CheckRange(r, name, v, min, max, minExclusive, maxExclusive); });
        return o;
    }

    /// <summary>A comma-separated list of finite numbers, e.g. <c>--flops 2.5,3,3.5</c> (null when absent).</summary>
    public static Option<double[]?> Numbers(string name, string description, bool required = false, string helpName = "X,Y,...")
    {
        var o = new Option<double[]?>(name)
        {
            Description = description, HelpName = helpName, Required = required,
            CustomParser = r =>
            {
                string text = r.Tokens.Count == 1 ? r.Tokens[0].Value : string.Join(",", r.Tokens.Select(t => t.Value));
                var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                if (parts.Length == 0) { r.AddError($"{name} is empty; give comma-separated numbers, e.g. 2.5,3,3.5."); return null; }
                var values = new double[parts.Length];
                for (int i = 0; i < parts.Length; i++)
                    if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !double.IsFinite(values[i]))
                    {
                        r.AddError($"{name}: '{parts[i]}' is not a number.");
                        return null;
                    }
                return values;
            },
        };
        return o;
    }

    /// <summary>One of <paramref name="values"/> (completions list them; anything else is refused by name).</summary>
    public static Option<string> Choice(string name, string description, string fallback, params string[] values)
    {
        var o = new Option<string>(name)
        {
            Description = description, HelpName = string.Join("|", values), DefaultValueFactory = _ => fallback,
        };
        AcceptOnly(o, name, values);
        return o;
    }

    /// <summary>Optionally one of <paramref name="values"/> (null when absent).</summary>
    public static Option<string?> ChoiceOrNull(string name, string description, params string[] values)
    {
        var o = new Option<string?>(name) { Description = description, HelpName = string.Join("|", values) };
        AcceptOnly(o, name, values);
        return o;
    }

    /// <summary>Loads the preset named by <paramref name="option"/>; a bad name is a usage error naming the option.</summary>
    public static SearchSpacePreset LoadPreset(ParseResult parse, Option<string> option)
    {
        string name = parse.GetValue(option)!;
        try { return SearchSpacePreset.Load(name); }
        catch (Exception e) when (e is ArgumentException or FileNotFoundException)
        {
            throw new UsageException($"{option.Name}: {e.Message.Split('\n')[0]}");
        }
    }

    // System.CommandLine's AcceptOnlyFromAmong does not name the option in its message; this does, and offers the
    // values as completions.
    private static void AcceptOnly<T>(Option<T> o, string name, string[] values)
    {
        o.CompletionSources.Add(values);
        o.Validators.Add(r =>
        {
            if (r.Tokens.Count == 0) return;
            string given = r.Tokens[^1].Value;
            if (!values.Contains(given, StringComparer.Ordinal))
                r.AddError($"{name} must be {string.Join(", ", values[..^1])} or {values[^1]}; got '{given}'.");
        });
    }

    // The value, or null when it did not convert (System.CommandLine reports that error itself, naming the option).
    private static object? Value<T>(OptionResult r)
    {
        try { return r.GetValueOrDefault<T>(); }
        catch (InvalidOperationException) { return null; }
    }

    private static void CheckRange(OptionResult r, string name, double v, double min, double max, bool minExclusive = false, bool maxExclusive = false)
    {
        var c = CultureInfo.InvariantCulture;
        if (!double.IsFinite(v)) r.AddError($"{name} must be a finite number; got {v.ToString(c)}.");
        else if (minExclusive ? v <= min : v < min)
            r.AddError(string.Format(c, "{0} must be {1} {2}; got {3}.", name, minExclusive ? "greater than" : "at least", min, v));
        else if (maxExclusive ? v >= max : v > max)
            r.AddError(string.Format(c, "{0} must be {1} {2}; got {3}.", name, maxExclusive ? "less than" : "at most", max, v));
    }
}
