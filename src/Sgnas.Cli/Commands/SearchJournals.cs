using System.Globalization;
using Sgnas.IO;
using Sgnas.Search;
using Sgnas.SearchSpace;

namespace Sgnas.Cli.Commands;

/// <summary>
/// What an interrupted <c>search</c> or <c>compare</c> keeps: one Core <see cref="CandidateJournal"/> per
/// (strategy, target) in a folder, appended as each candidate is scored. A resumed run drives the same seeded tuners,
/// which propose the same candidates, and reads their scores back instead of measuring them again
/// (<see cref="TunerSearchStrategy.Journal"/>), so it continues mid-search and ends with the result an uninterrupted
/// run gives. <c>options.json</c> in the folder records the options that decide scores and proposals; a resume with
/// other options is refused rather than mixing results. The generator and UNAS are not journaled: the generator's
/// search is one evaluation, and UNAS re-runs from its seed.
/// </summary>
internal sealed class SearchJournals
{
    private readonly SearchSpacePreset _preset;

    private readonly bool _resume;
    private readonly string _unit;

    private SearchJournals(string folder, SearchSpacePreset preset, bool resume, string unit)
    {
        Folder = folder;
        _preset = preset;
        _resume = resume;
        _unit = unit;
    }

    /// <summary>The folder of the journals.</summary>
    public string Folder { get; }

    /// <summary>Scored candidates found in the journals when they were opened (read back, not scored again).</summary>
    public int Recorded { get; private set; }

    /// <summary>The journal file of one (strategy, target), the target in the unit of the budgets (M or ms).</summary>
    public string PathOf(string strategy, double target) =>
        Path.Combine(Folder, $"{strategy}_{target.ToString("0.###", CultureInfo.InvariantCulture)}{_unit}.jsonl");

    /// <summary>
    /// Opens the journals of <paramref name="folder"/> for a run with <paramref name="optionsKey"/>. Without
    /// <paramref name="resume"/>, journals already there are refused when <paramref name="refuseExisting"/> is true
    /// (compare: they are another run's work) and otherwise started afresh by <see cref="Wrap"/> (search).
    /// </summary>
    /// <exception cref="InvalidOperationException">Journals of other options, or of an earlier run without --resume.</exception>
    public static SearchJournals Open(string folder, SearchSpacePreset preset, string optionsKey, bool resume, bool refuseExisting, string unit = "M")
    {
        var journals = new SearchJournals(Path.GetFullPath(folder), preset, resume, unit);
        string optionsFile = Path.Combine(journals.Folder, "options.json");
        var existing = Directory.Exists(journals.Folder) ? Directory.GetFiles(journals.Folder, "*.jsonl") : [];
        string? stored = File.Exists(optionsFile) ? File.ReadAllText(optionsFile) : null;
        if (existing.Length > 0 && !resume && refuseExisting)
            throw new InvalidOperationException($"{journals.Folder} holds searches of an earlier run; pass --resume to continue them, or delete the folder.");
        if (existing.Length > 0 && resume && stored is not null && stored != optionsKey)
            throw new InvalidOperationException(
                $"{journals.Folder} was searched with other options; resume with the same options, or delete the folder to search again.");
        // A fresh search with other options: the journals of the old options must never be replayed into it.
        if (!resume && stored != optionsKey) foreach (var f in existing) File.Delete(f);
        AtomicFile.WriteAllText(optionsFile, optionsKey);
        return journals;
    }

    /// <summary>
    /// The strategy with a journal per target when it is a tuner (random, evolution); other strategies unchanged.
    /// Without --resume, a journal left by an earlier run for the same (strategy, target) is deleted first.
    /// </summary>
    public ISearchStrategy Wrap(ISearchStrategy strategy) => strategy is TunerSearchStrategy tuner
        ? tuner.WithJournal(target =>
        {
            string path = PathOf(tuner.Name, target);
            if (!_resume && File.Exists(path)) File.Delete(path);
            var journal = new CandidateJournal(path, _preset);
            Recorded += journal.Count;
            return journal;
        })
        : strategy;
}
