using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.IO;
using Sgnas.Search;
using Sgnas.SearchSpace;
using Sgnas.Training;

namespace Sgnas.Cli.Commands;

/// <summary>
/// The finished (strategy, target) searches of a <c>search</c> or <c>compare</c> run, one JSON file each in a folder,
/// written as soon as each search finishes: what an interrupted run keeps, and what <c>--resume</c> reuses instead
/// of searching again. Each file records the search options, so a resume with other options is refused.
/// </summary>
internal sealed class FinishedSearches(string folder, SearchSpacePreset preset, string optionsKey, bool resume)
{
    /// <summary>The folder.</summary>
    public string Folder { get; } = Path.GetFullPath(folder);

    /// <summary>Searches reused from an earlier run.</summary>
    public int Reused { get; private set; }

    /// <summary>Searches finished and saved in this run.</summary>
    public int Saved { get; private set; }

    /// <summary>The file of one (strategy, target).</summary>
    public string PathOf(string strategy, double targetFlopsM) =>
        Path.Combine(Folder, $"{strategy}_{targetFlopsM.ToString("0.###", CultureInfo.InvariantCulture)}M.json");

    /// <summary>Wraps <paramref name="inner"/> so each of its searches is saved when done and reused on resume.</summary>
    public ISearchStrategy Wrap(ISearchStrategy inner) => new Strategy(this, inner);

    /// <summary>Runs one search through the store.</summary>
    public SearchResult Search(ISearchStrategy inner, double target, CancellationToken ct, IProgress<TrainingProgress>? progress)
    {
        string path = PathOf(inner.Name, target);
        if (resume && File.Exists(path))
        {
            var stored = Read(path);
            if (stored is not null)
            {
                Reused++;
                return stored;
            }
        }
        var r = inner.Search(target, ct, progress);
        AtomicFile.WriteAllText(path, Write(r).ToJsonString(Output.JsonOptions));
        Saved++;
        return r;
    }

    private JsonObject Write(SearchResult r) => new()
    {
        ["options"] = optionsKey,
        ["strategy"] = r.Strategy,
        ["targetFlopsM"] = r.TargetFlopsM,
        ["flopsM"] = r.FlopsM,
        ["withinTarget"] = r.WithinTarget,
        ["architecture"] = r.Architecture.ToString(),
        ["valTop1"] = r.ValTop1,
        ["valLoss"] = r.ValLoss,
        ["seconds"] = r.Seconds,
        ["evaluated"] = r.Evaluated,
        ["trials"] = new JsonArray(r.Trials.Select(t => (JsonNode)new JsonObject
        {
            ["id"] = t.Id, ["architecture"] = t.Architecture.ToString(), ["flopsM"] = t.FlopsM,
            ["valTop1"] = t.ValTop1, ["valLoss"] = t.ValLoss, ["seconds"] = t.Seconds,
        }).ToArray()),
    };

    /// <summary>The stored result.</summary>
    /// <exception cref="InvalidOperationException">The file was written with other search options.</exception>
    /// <exception cref="InvalidDataException">The file is corrupt; the message names it.</exception>
    private SearchResult? Read(string path)
    {
        JsonObject o;
        try { o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: expected a JSON object."); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not a finished search result ({e.Message}); delete it to search again.", e); }
        if ((o["options"] as JsonValue)?.ToString() != optionsKey)
            throw new InvalidOperationException(
                $"{path} was searched with other options; resume with the same options, or delete {Folder} to search again.");
        try
        {
            Architecture Arch(JsonNode? n) => ArchitectureCodec.Parse(n!.GetValue<string>(), preset);
            var trials = o["trials"]!.AsArray().Select(t => new Trial(t!["id"]!.GetValue<int>(), Arch(t["architecture"]), t["flopsM"]!.GetValue<double>(),
                t["valTop1"]!.GetValue<double>(), t["valLoss"]!.GetValue<double>(), t["seconds"]!.GetValue<double>())).ToList();
            return new SearchResult(o["strategy"]!.GetValue<string>(), o["targetFlopsM"]!.GetValue<double>(), Arch(o["architecture"]),
                o["flopsM"]!.GetValue<double>(), o["valTop1"]!.GetValue<double>(), o["valLoss"]!.GetValue<double>(),
                o["seconds"]!.GetValue<double>(), o["evaluated"]!.GetValue<int>(), trials);
        }
        catch (Exception e) when (e is NullReferenceException or FormatException or ArgumentException or InvalidOperationException or InvalidCastException)
        {
            throw new InvalidDataException($"{path}: not a finished search result ({e.Message.Split('\n')[0]}); delete it to search again.", e);
        }
    }

    private sealed class Strategy(FinishedSearches store, ISearchStrategy inner) : ISearchStrategy
    {
        public string Name => inner.Name;
        public double SetupSeconds => inner.SetupSeconds;
        public SearchResult Search(double targetFlopsM, CancellationToken cancellationToken = default, IProgress<TrainingProgress>? progress = null) =>
            store.Search(inner, targetFlopsM, cancellationToken, progress);
    }
}
