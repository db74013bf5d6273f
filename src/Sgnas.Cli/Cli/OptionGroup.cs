using System.CommandLine;
using System.Reflection;

namespace Sgnas.Cli;

/// <summary>
/// A set of options declared as fields (<see cref="Option"/> or nested <see cref="OptionGroup"/>). Every such field,
/// in declaration order, becomes an option of the command that holds the group: declaring the field is the whole
/// registration, so adding an option is one line (docs/cli.md).
/// </summary>
public abstract class OptionGroup
{
    /// <summary>The options of this group (and of its nested groups), in declaration order.</summary>
    public IEnumerable<Option> Options => Collect(this);

    /// <summary>Option and group fields of <paramref name="owner"/>, base classes last (so --json ends the help).</summary>
    internal static IEnumerable<Option> Collect(object owner)
    {
        for (var t = owner.GetType(); t is not null && t != typeof(object); t = t.BaseType)
        {
            // GetFields returns fields in declaration order (metadata order), which is the help order.
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                var value = f.GetValue(owner);
                if (value is Option o) yield return o;
                else if (value is OptionGroup g) foreach (var inner in Collect(g)) yield return inner;
            }
        }
    }
}
