using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.Cost;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Generation;

/// <summary>One prior of the pool: a random architecture whose exact cost lies near its bucket's centre.</summary>
/// <param name="Center">Bucket centre in the pool's unit (M FLOPs or ms).</param>
/// <param name="Cost">Exact cost of <paramref name="Architecture"/> in that unit (FLOPs: Eq. 9 on one-hot, equal to
/// <see cref="FlopsCounter"/>; latency: the table's prediction).</param>
/// <param name="Architecture">The prior architecture (canonical).</param>
public sealed record PriorEntry(double Center, double Cost, Architecture Architecture)
{
    /// <summary><see cref="Center"/> (in M for a FLOPs pool, the unit the name was chosen for).</summary>
    public double CenterM => Center;
    /// <summary><see cref="Cost"/> (in M for a FLOPs pool, the unit the name was chosen for).</summary>
    public double FlopsM => Cost;
}

/// <summary>
/// The random-prior pool of SGNAS (paper section 3.2.2; docs/design.md §4; reference code <c>PriorPool</c>): the
/// interval [C_low, C_high] is cut into equal buckets; each keeps one random architecture whose exact cost (FLOPs,
/// or latency from a table: the pool follows the generator's <see cref="ConstraintCost"/>) lies near the bucket
/// centre, used as the generator's prior B (its one-hot map [L, e_max, options]) for targets
/// nearest to it.
/// <para>
/// Uniform sampling concentrates FLOPs around the middle of the space, so buckets near the ends are rarely hit by
/// rejection sampling (the reference loops until it hits ±bias). Instead each bucket starts from a uniformly
/// sampled architecture and takes a seeded random walk: redraw one random layer (or change it by one sub-block or one
/// kernel) and keep
/// the change when it brings the FLOPs closer to the centre, until within tolerance or the step budget is spent
/// (the best architecture seen is kept). The result is still a random architecture of the space near the centre.
/// </para>
/// </summary>
public sealed class PriorPool
{
    private readonly SearchSpacePreset _preset;
    private readonly PriorEntry[] _entries;

    private PriorPool(ConstraintCost cost, double lowM, double highM, PriorEntry[] entries)
    {
        _preset = cost.Preset; Kind = cost.Kind; _entries = entries; LowM = lowM; HighM = highM;
    }

    /// <summary>The kind of cost the priors are bucketed by; <see cref="LowM"/>, <see cref="HighM"/> and the
    /// entries are in its unit.</summary>
    public ConstraintKind Kind { get; }

    /// <summary>Lower end of the interval the buckets cover, in M.</summary>
    public double LowM { get; }
    /// <summary>Upper end of the interval the buckets cover, in M.</summary>
    public double HighM { get; }
    /// <summary>The priors, by ascending bucket centre.</summary>
    public IReadOnlyList<PriorEntry> Entries => _entries;

    /// <summary>
    /// A pool of one prior: a single uniformly random architecture of the space, used for every target (paper section
    /// 3.2.2, "a random prior"; the reference code's pool size 1). Its bucket centre is the interval's middle.
    /// </summary>
    public static PriorPool SingleRandom(SearchSpacePreset preset, double lowM, double highM, int seed = 0) =>
        SingleRandom(ConstraintCost.Create(ConstraintKind.Flops, preset ?? throw new ArgumentNullException(nameof(preset))), lowM, highM, seed);

    /// <summary>As <see cref="SingleRandom(SearchSpacePreset, double, double, int)"/>, bucketed by <paramref name="cost"/> (interval in its unit).</summary>
    public static PriorPool SingleRandom(ConstraintCost cost, double low, double high, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(cost);
        if (!(high > low)) throw new ArgumentException($"prior-pool interval [{low}, {high}] {cost.Unit} is empty.");
        var arch = new ArchitectureSampler(cost.Preset, seed).Sample(canonical: true);
        return new PriorPool(cost, low, high, new[] { new PriorEntry((low + high) / 2, cost.Of(arch), arch) });
    }

    /// <summary>
    /// Builds a pool of <paramref name="buckets"/> priors over [<paramref name="lowM"/>, <paramref name="highM"/>].
    /// </summary>
    /// <param name="preset">The search space.</param>
    /// <param name="lowM">Interval start in M (e.g. <see cref="FlopsLookupTable.ConstraintInterval"/>).</param>
    /// <param name="highM">Interval end in M.</param>
    /// <param name="buckets">Number of buckets (≥ 1).</param>
    /// <param name="seed">Seed of the sampler.</param>
    /// <param name="maxTries">Random-walk steps per bucket.</param>
    public static PriorPool Build(SearchSpacePreset preset, double lowM, double highM, int buckets = 10, int seed = 0, int maxTries = 2000) =>
        Build(ConstraintCost.Create(ConstraintKind.Flops, preset ?? throw new ArgumentNullException(nameof(preset))), lowM, highM, buckets, seed, maxTries);

    /// <summary>
    /// As <see cref="Build(SearchSpacePreset, double, double, int, int, int)"/>, bucketed by <paramref name="cost"/>
    /// (FLOPs or a latency table; the interval in its unit). The random walk is the same: it only compares costs.
    /// </summary>
    public static PriorPool Build(ConstraintCost cost, double lowM, double highM, int buckets = 10, int seed = 0, int maxTries = 2000)
    {
        ArgumentNullException.ThrowIfNull(cost);
        var preset = cost.Preset;
        if (!(highM > lowM)) throw new ArgumentException($"prior-pool interval [{lowM}, {highM}] {cost.Unit} is empty.");
        if (buckets < 1) throw new ArgumentOutOfRangeException(nameof(buckets), buckets, "need at least one bucket.");
        if (maxTries < 1) throw new ArgumentOutOfRangeException(nameof(maxTries), maxTries, "need at least one try.");
        var sampler = new ArchitectureSampler(preset, seed);
        double width = (highM - lowM) / buckets;
        // Good enough once within a quarter bucket or 1% of the interval, whichever is tighter.
        double tolerance = Math.Min(width / 4, 0.01 * (highM - lowM));
        var entries = new PriorEntry[buckets];
        for (int b = 0; b < buckets; b++)
        {
            double center = lowM + (b + 0.5) * width;
            var layers = sampler.Sample(canonical: false).Layers.ToArray();
            double current = cost.Of(new Architecture(layers));
            for (int t = 0; t < maxTries && Math.Abs(current - center) > tolerance; t++)
            {
                int i = sampler.Random.Next(layers.Length);
                var old = layers[i];
                layers[i] = sampler.Random.Next(2) == 0 ? sampler.SampleLayer() : Neighbour(preset, old, sampler.Random);
                double c = cost.Of(new Architecture(layers));
                if (Math.Abs(c - center) < Math.Abs(current - center)) current = c;
                else layers[i] = old;
            }
            var arch = new Architecture(layers).Canonical();
            entries[b] = new PriorEntry(center, cost.Of(arch), arch);
        }
        return new PriorPool(cost, lowM, highM, entries);
    }

    /// <summary>
    /// A small random change of one layer: one sub-block more or less (random kernel) or one kernel redrawn. Whole-layer
    /// redraws alone rarely reach the ends of the FLOPs range (all-e6-k7 is one of 80 layer choices); these steps can.
    /// </summary>
    private static LayerChoice Neighbour(SearchSpacePreset p, LayerChoice layer, Random r)
    {
        var ks = layer.Kernels.ToList();
        int move = r.Next(3);
        if (move == 0 && ks.Count < p.MaxExpansion) ks.Add(p.Kernels[r.Next(p.Kernels.Count)]);
        else if (move == 1 && ks.Count > p.MinExpansion) ks.RemoveAt(r.Next(ks.Count));
        else ks[r.Next(ks.Count)] = p.Kernels[r.Next(p.Kernels.Count)];
        return new LayerChoice(ks);
    }

    /// <summary>The prior whose cost is nearest to <paramref name="targetM"/> (in the pool's unit; ties: the lower bucket).</summary>
    public PriorEntry Nearest(double targetM) => _entries[NearestIndex(targetM)];

    /// <summary>Index in <see cref="Entries"/> of <see cref="Nearest"/>.</summary>
    public int NearestIndex(double targetM)
    {
        int best = 0;
        for (int i = 1; i < _entries.Length; i++)
            if (Math.Abs(_entries[i].Cost - targetM) < Math.Abs(_entries[best].Cost - targetM)) best = i;
        return best;
    }

    /// <summary>Every entry's prior as the generator input, shape [P, 1, L, e_max·options] in <see cref="Entries"/> order.</summary>
    public Tensor AllPriors(Device? device = null) => Batch(_entries, device);

    /// <summary>One-hot map of <paramref name="entry"/>, flattened [L, e_max, options].</summary>
    public float[] OneHot(PriorEntry entry) => entry.Architecture.ToOneHot(_preset);

    /// <summary>
    /// Priors of the nearest entries for each target as the generator input, shape [N, 1, L, e_max·options].
    /// </summary>
    public Tensor PriorBatch(IReadOnlyList<double> targetsM, Device? device = null) => Batch(targetsM.Select(Nearest).ToArray(), device);

    // The one-hot maps of entries as a generator input batch [N, 1, L, e_max·options].
    private Tensor Batch(IReadOnlyList<PriorEntry> entries, Device? device)
    {
        int L = _preset.LayerCount, W = _preset.MaxExpansion * _preset.OptionCount;
        var data = new float[entries.Count * L * W];
        for (int n = 0; n < entries.Count; n++) OneHot(entries[n]).CopyTo(data, n * L * W);
        return tensor(data, new long[] { entries.Count, 1, L, W }, device: device);
    }

    /// <summary>
    /// JSON form: interval and, per bucket, centre, cost and the architecture text. A FLOPs pool keeps the original
    /// keys (<c>lowM</c>, <c>centerM</c>, <c>flopsM</c>); a latency pool writes <c>kind</c> and unit-free keys
    /// (<c>low</c>, <c>center</c>, <c>cost</c>), so neither can be read as the other.
    /// </summary>
    public JsonNode ToJson()
    {
        bool flops = Kind == ConstraintKind.Flops;
        var node = new JsonObject { ["preset"] = _preset.Name };
        if (!flops) { node["kind"] = ConstraintKinds.Name(Kind); node["unit"] = ConstraintKinds.Unit(Kind); }
        node[flops ? "lowM" : "low"] = LowM;
        node[flops ? "highM" : "high"] = HighM;
        node["entries"] = new JsonArray(_entries.Select(e => (JsonNode)new JsonObject
        {
            [flops ? "centerM" : "center"] = e.Center,
            [flops ? "flopsM" : "cost"] = e.Cost,
            ["architecture"] = e.Architecture.ToString(),
        }).ToArray());
        return node;
    }

    /// <summary>
    /// Reads <see cref="ToJson"/>'s form for <paramref name="preset"/>; the stored FLOPs are checked against the
    /// preset's lookup table, so a pool of another search space is rejected.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed pool, or architectures/FLOPs that do not fit the preset.</exception>
    public static PriorPool FromJson(JsonNode node, SearchSpacePreset preset, string source = "prior pool") =>
        FromJson(node, ConstraintCost.Create(ConstraintKind.Flops, preset ?? throw new ArgumentNullException(nameof(preset))), source);

    /// <summary>
    /// Reads <see cref="ToJson"/>'s form for a pool bucketed by <paramref name="cost"/>; the stored costs are checked
    /// against it, so a pool of another search space, kind or latency table is rejected.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed pool, another kind, or costs that do not fit.</exception>
    public static PriorPool FromJson(JsonNode node, ConstraintCost cost, string source = "prior pool")
    {
        ArgumentNullException.ThrowIfNull(cost);
        var preset = cost.Preset;
        try
        {
            var stored = node["kind"] is { } k ? ConstraintKinds.Parse(k.GetValue<string>()) : ConstraintKind.Flops;
            if (stored != cost.Kind)
                throw new InvalidDataException($"{source}: the prior pool is bucketed by {ConstraintKinds.Name(stored)}, not {ConstraintKinds.Name(cost.Kind)}.");
            bool flops = stored == ConstraintKind.Flops;
            double low = node[flops ? "lowM" : "low"]!.GetValue<double>(), high = node[flops ? "highM" : "high"]!.GetValue<double>();
            var list = new List<PriorEntry>();
            foreach (var e in node["entries"]!.AsArray())
            {
                var arch = ArchitectureCodec.Parse(e!["architecture"]!.GetValue<string>(), preset);
                double value = e[flops ? "flopsM" : "cost"]!.GetValue<double>(), exact = cost.Of(arch);
                if (Math.Abs(value - exact) > 1e-6 * Math.Max(1, exact))
                    throw new InvalidDataException($"{source}: prior {arch} is stored with {value} {cost.Unit} but costs {exact} {cost.Unit} in preset '{preset.Name}'.");
                list.Add(new PriorEntry(e[flops ? "centerM" : "center"]!.GetValue<double>(), exact, arch));
            }
            if (list.Count == 0) throw new InvalidDataException($"{source}: the prior pool is empty.");
            return new PriorPool(cost, low, high, list.OrderBy(e => e.Center).ToArray());
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or JsonException)
        {
            throw new InvalidDataException($"{source}: malformed prior pool ({e.Message}).", e);
        }
    }
}
