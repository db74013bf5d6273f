using System.Text.Json;
using System.Text.Json.Nodes;
using Sgnas.Cost;
using Sgnas.SearchSpace;
using static TorchSharp.torch;

namespace Sgnas.Generation;

/// <summary>One prior of the pool: a random architecture whose exact FLOPs lie near its bucket's centre.</summary>
/// <param name="CenterM">Bucket centre in M FLOPs.</param>
/// <param name="FlopsM">Exact FLOPs of <paramref name="Architecture"/> (Eq. 9 on one-hot, equal to <see cref="FlopsCounter"/>).</param>
/// <param name="Architecture">The prior architecture (canonical).</param>
public sealed record PriorEntry(double CenterM, double FlopsM, Architecture Architecture);

/// <summary>
/// The random-prior pool of SGNAS (paper section 3.2.2; docs/design.md §4; reference code <c>PriorPool</c>): the
/// interval [C_low, C_high] is cut into equal buckets; each keeps one random architecture whose exact FLOPs lie
/// near the bucket centre, used as the generator's prior B (its one-hot map [L, e_max, options]) for targets
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
    private readonly FlopsLookupTable _table;
    private readonly PriorEntry[] _entries;

    private PriorPool(SearchSpacePreset preset, double lowM, double highM, PriorEntry[] entries)
    {
        _preset = preset; _table = new FlopsLookupTable(preset); _entries = entries; LowM = lowM; HighM = highM;
    }

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
    public static PriorPool SingleRandom(SearchSpacePreset preset, double lowM, double highM, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(preset);
        if (!(highM > lowM)) throw new ArgumentException($"prior-pool interval [{lowM}, {highM}] M is empty.");
        var arch = new ArchitectureSampler(preset, seed).Sample(canonical: true);
        var table = new FlopsLookupTable(preset);
        return new PriorPool(preset, lowM, highM, new[] { new PriorEntry((lowM + highM) / 2, table.CostM(arch), arch) });
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
    public static PriorPool Build(SearchSpacePreset preset, double lowM, double highM, int buckets = 10, int seed = 0, int maxTries = 2000)
    {
        ArgumentNullException.ThrowIfNull(preset);
        if (!(highM > lowM)) throw new ArgumentException($"prior-pool interval [{lowM}, {highM}] M is empty.");
        if (buckets < 1) throw new ArgumentOutOfRangeException(nameof(buckets), buckets, "need at least one bucket.");
        if (maxTries < 1) throw new ArgumentOutOfRangeException(nameof(maxTries), maxTries, "need at least one try.");
        var table = new FlopsLookupTable(preset);
        var sampler = new ArchitectureSampler(preset, seed);
        double width = (highM - lowM) / buckets;
        // Good enough once within a quarter bucket or 1% of the interval, whichever is tighter.
        double tolerance = Math.Min(width / 4, 0.01 * (highM - lowM));
        var entries = new PriorEntry[buckets];
        for (int b = 0; b < buckets; b++)
        {
            double center = lowM + (b + 0.5) * width;
            var layers = sampler.Sample(canonical: false).Layers.ToArray();
            double cost = table.CostM(new Architecture(layers));
            for (int t = 0; t < maxTries && Math.Abs(cost - center) > tolerance; t++)
            {
                int i = sampler.Random.Next(layers.Length);
                var old = layers[i];
                layers[i] = sampler.Random.Next(2) == 0 ? sampler.SampleLayer() : Neighbour(preset, old, sampler.Random);
                double c = table.CostM(new Architecture(layers));
                if (Math.Abs(c - center) < Math.Abs(cost - center)) cost = c;
                else layers[i] = old;
            }
            var arch = new Architecture(layers).Canonical();
            entries[b] = new PriorEntry(center, table.CostM(arch), arch);
        }
        return new PriorPool(preset, lowM, highM, entries);
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

    /// <summary>The prior whose FLOPs are nearest to <paramref name="targetM"/> (ties: the lower bucket).</summary>
    public PriorEntry Nearest(double targetM)
    {
        int best = 0;
        for (int i = 1; i < _entries.Length; i++)
            if (Math.Abs(_entries[i].FlopsM - targetM) < Math.Abs(_entries[best].FlopsM - targetM)) best = i;
        return _entries[best];
    }

    /// <summary>One-hot map of <paramref name="entry"/>, flattened [L, e_max, options].</summary>
    public float[] OneHot(PriorEntry entry) => entry.Architecture.ToOneHot(_preset);

    /// <summary>
    /// Priors of the nearest entries for each target as the generator input, shape [N, 1, L, e_max·options].
    /// </summary>
    public Tensor PriorBatch(IReadOnlyList<double> targetsM, Device? device = null)
    {
        int L = _preset.LayerCount, W = _preset.MaxExpansion * _preset.OptionCount;
        var data = new float[targetsM.Count * L * W];
        for (int n = 0; n < targetsM.Count; n++) OneHot(Nearest(targetsM[n])).CopyTo(data, n * L * W);
        return tensor(data, new long[] { targetsM.Count, 1, L, W }, device: device);
    }

    /// <summary>JSON form: interval and, per bucket, centre, FLOPs and the architecture text.</summary>
    public JsonNode ToJson() => new JsonObject
    {
        ["preset"] = _preset.Name,
        ["lowM"] = LowM,
        ["highM"] = HighM,
        ["entries"] = new JsonArray(_entries.Select(e => (JsonNode)new JsonObject
        {
            ["centerM"] = e.CenterM,
            ["flopsM"] = e.FlopsM,
            ["architecture"] = e.Architecture.ToString(),
        }).ToArray()),
    };

    /// <summary>
    /// Reads <see cref="ToJson"/>'s form for <paramref name="preset"/>; the stored FLOPs are checked against the
    /// preset's lookup table, so a pool of another search space is rejected.
    /// </summary>
    /// <exception cref="InvalidDataException">Malformed pool, or architectures/FLOPs that do not fit the preset.</exception>
    public static PriorPool FromJson(JsonNode node, SearchSpacePreset preset, string source = "prior pool")
    {
        try
        {
            double low = node["lowM"]!.GetValue<double>(), high = node["highM"]!.GetValue<double>();
            var table = new FlopsLookupTable(preset);
            var list = new List<PriorEntry>();
            foreach (var e in node["entries"]!.AsArray())
            {
                var arch = ArchitectureCodec.Parse(e!["architecture"]!.GetValue<string>(), preset);
                double flops = e["flopsM"]!.GetValue<double>(), exact = table.CostM(arch);
                if (Math.Abs(flops - exact) > 1e-6 * Math.Max(1, exact))
                    throw new InvalidDataException($"{source}: prior {arch} is stored with {flops} M FLOPs but costs {exact} M in preset '{preset.Name}'.");
                list.Add(new PriorEntry(e["centerM"]!.GetValue<double>(), exact, arch));
            }
            if (list.Count == 0) throw new InvalidDataException($"{source}: the prior pool is empty.");
            return new PriorPool(preset, low, high, list.OrderBy(e => e.CenterM).ToArray());
        }
        catch (Exception e) when (e is NullReferenceException or InvalidOperationException or FormatException or JsonException)
        {
            throw new InvalidDataException($"{source}: malformed prior pool ({e.Message}).", e);
        }
    }
}
