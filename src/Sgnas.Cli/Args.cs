using System.Globalization;

namespace Sgnas.Cli;

/// <summary>Thrown for bad command-line input; the message is printed as the one line explaining the failure.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// Minimal kebab-case option parser: <c>--name value</c>, <c>--name=value</c>, boolean <c>--flag</c>.
/// Every option a command reads is recorded, so unknown options can be rejected by name.
/// </summary>
public sealed class Args
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    /// <summary>Parses the arguments after the command name.</summary>
    public Args(IEnumerable<string> args)
    {
        var list = args.ToList();
        for (int i = 0; i < list.Count; i++)
        {
            string a = list[i];
            if (!a.StartsWith("--", StringComparison.Ordinal) || a.Length < 3)
                throw new UsageException($"Unexpected argument '{a}'; options look like --name value.");
            string name = a[2..]; string? value = null;
            int eq = name.IndexOf('=');
            if (eq >= 0) { value = name[(eq + 1)..]; name = name[..eq]; }
            else if (i + 1 < list.Count && !list[i + 1].StartsWith("--", StringComparison.Ordinal)) value = list[++i];
            _values[name] = value;
        }
    }

    /// <summary>True if the flag is present (and not followed by "false").</summary>
    public bool Flag(string name)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var v) && (v is null || !v.Equals("false", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>String option or default.</summary>
    public string? String(string name, string? fallback = null)
    {
        _read.Add(name);
        if (!_values.TryGetValue(name, out var v)) return fallback;
        if (v is null) throw new UsageException($"--{name} needs a value.");
        return v;
    }

    /// <summary>Required string option.</summary>
    public string Required(string name) => String(name) ?? throw new UsageException($"--{name} is required.");

    /// <summary>Integer option with optional minimum.</summary>
    public int Int(string name, int fallback, int min = int.MinValue)
    {
        var s = String(name);
        if (s is null) return fallback;
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v)) throw new UsageException($"--{name}: '{s}' is not an integer.");
        if (v < min) throw new UsageException($"--{name} must be at least {min}; got {v}.");
        return v;
    }

    /// <summary>Floating-point option.</summary>
    public double Double(string name, double fallback)
    {
        var s = String(name);
        if (s is null) return fallback;
        if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            throw new UsageException($"--{name}: '{s}' is not a number.");
        return v;
    }

    /// <summary>Comma-separated list of numbers, e.g. <c>--flops 12,14.5,17</c>.</summary>
    public double[]? Doubles(string name)
    {
        var s = String(name);
        if (s is null) return null;
        var parts = s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0) throw new UsageException($"--{name} is empty.");
        return parts.Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && double.IsFinite(v)
            ? v : throw new UsageException($"--{name}: '{p}' is not a number.")).ToArray();
    }

    /// <summary>Throws if an option was given that the command never read.</summary>
    public void RejectUnknown(string command)
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new UsageException($"'{command}' does not take --{string.Join(", --", unknown)}.");
    }
}
