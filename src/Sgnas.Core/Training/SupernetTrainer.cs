using System.Diagnostics;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Sgnas.Data;
using Sgnas.Distributed;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Training;

/// <summary>Metrics of one supernet epoch.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="TrainLoss">Mean training cross-entropy over all single-path passes of the epoch (with label smoothing if set).</param>
/// <param name="TrainTop1">Training top-1 over all single-path passes.</param>
/// <param name="ValidationLoss">Validation cross-entropy, mean over the fixed validation architectures.</param>
/// <param name="ValidationTop1">Validation top-1, mean over the fixed validation architectures.</param>
/// <param name="LearningRate">Learning rate of the epoch's last step.</param>
/// <param name="Seconds">Wall time of the epoch including validation.</param>
public sealed record SupernetEpochMetrics(int Epoch, double TrainLoss, double TrainTop1, double ValidationLoss, double ValidationTop1,
    double LearningRate, double Seconds);

/// <summary>Outcome of <see cref="SupernetTrainer.Train"/> or <see cref="SupernetTrainer.Resume"/>.</summary>
/// <param name="EpochsCompleted">Epochs in the checkpoint now.</param>
/// <param name="Epochs">Epochs planned.</param>
/// <param name="History">Metrics of every completed epoch (including those before a resume).</param>
/// <param name="Seconds">Wall time of this call.</param>
/// <param name="RunFolder">Folder holding the checkpoint.</param>
public sealed record SupernetTrainingResult(int EpochsCompleted, int Epochs, IReadOnlyList<SupernetEpochMetrics> History, double Seconds, string RunFolder)
{
    /// <summary>Validation top-1 of the last completed epoch, or null before the first.</summary>
    public double? ValidationTop1 => History.Count > 0 ? History[^1].ValidationTop1 : null;
}

/// <summary>What a checkpoint records about the training data, so a resume on other data fails clearly.</summary>
/// <param name="Count">Images in the data set.</param>
/// <param name="Channels">Channels per image.</param>
/// <param name="Height">Image height.</param>
/// <param name="Width">Image width.</param>
/// <param name="Classes">Number of classes.</param>
/// <param name="Sha256">SHA-256 (hex) over the pixels then the labels.</param>
public sealed record DataFingerprint(int Count, int Channels, int Height, int Width, int Classes, string Sha256)
{
    /// <summary>Fingerprint of <paramref name="data"/>.</summary>
    public static DataFingerprint Of(ImageDataset data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var h = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        h.AppendData(data.Pixels);
        h.AppendData(System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.Labels.AsSpan()));
        return new DataFingerprint(data.Count, data.Channels, data.Height, data.Width, data.ClassCount, Convert.ToHexStringLower(h.GetHashAndReset()));
    }
}

/// <summary>Resumable training state stored in <see cref="SupernetCheckpointInfo.State"/>.</summary>
/// <param name="Sampler">Path sampler seed and steps drawn.</param>
/// <param name="ValidationArchitectures">The fixed validation architectures, in text form.</param>
/// <param name="StepsPerEpoch">Optimizer steps per epoch (fixes the cosine schedule).</param>
/// <param name="Data">Fingerprint of the training data.</param>
public sealed record SupernetTrainingState(PathSamplerState Sampler, IReadOnlyList<string> ValidationArchitectures, int StepsPerEpoch, DataFingerprint Data);

/// <summary>
/// Stage 1 of SGNAS: trains the unified supernet with single paths (docs/design.md §2 and §5).
/// <para>
/// Each optimizer step runs <see cref="SupernetTrainerOptions.PathsPerStep"/> (K) single-path forward/backward
/// passes on the same mini-batch, paths from <see cref="FairPathSampler"/>; gradients are summed over the K passes
/// (not averaged: under strict fairness each kernel option then receives exactly one single-path gradient per step,
/// as in the reference implementation), then one SGD step (momentum, weight decay) at the cosine learning rate of
/// that step. Gradients are reset to none before each step, so parameters on no path of the step (e.g. the shadow
/// BNs of rates not drawn) are neither decayed nor moved by momentum.
/// </para>
/// <para>
/// A validation part is held out of the given training images (stratified, seeded). After every epoch the supernet
/// is evaluated (BN in eval mode with its running statistics) on that part with a fixed set of seeded random
/// canonical architectures, and a checkpoint (weights, optimizer state, metadata with sampler state and history) is
/// written atomically to the <see cref="RunFolder"/>. An epoch-0 checkpoint is written before training starts, so the
/// folder is loadable and resumable from the first step on. Cancellation is honoured between steps and leaves the
/// last epoch's checkpoint; a non-finite loss stops training with <see cref="TrainingDivergedException"/>.
/// </para>
/// </summary>
public sealed class SupernetTrainer
{
    /// <summary>Stage name used in progress reports.</summary>
    public const string StageName = "supernet";

    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter() },
    };

    /// <summary>Creates a trainer for <paramref name="preset"/>.</summary>
    /// <exception cref="ArgumentException">An option is out of range, or fair sampling does not fit the preset.</exception>
    public SupernetTrainer(SearchSpacePreset preset, SupernetTrainerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        Preset = preset;
        Options = options ?? new SupernetTrainerOptions();
        Options.Validate();
        // Fails early (before data is loaded) if the path count does not fit fair sampling.
        _ = new FairPathSampler(preset, 0, Options.Sampling, Options.PathsPerStep);
    }

    /// <summary>The search space.</summary>
    public SearchSpacePreset Preset { get; }

    /// <summary>The options.</summary>
    public SupernetTrainerOptions Options { get; }

    /// <summary>
    /// Trains a new supernet on <paramref name="data"/> (the training split; validation is held out of it) and leaves
    /// the checkpoint in <paramref name="run"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The data do not fit the preset (channels, size, classes).</exception>
    /// <exception cref="InvalidOperationException">The folder already holds a supernet checkpoint.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the last epoch's checkpoint is kept.</exception>
    /// <exception cref="TrainingDivergedException">A loss became NaN or infinite.</exception>
    public SupernetTrainingResult Train(ImageDataset data, RunFolder run, IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(run);
        CheckData(Preset, data);
        // Under MPI only rank 0 touches the folder; the barriers keep every rank's check before rank 0's first save.
        var world = Cluster.World;
        if (world.Rank == 0) SupernetCheckpoint.Set(run).Recover(); // an interrupted first save either completes (and is refused below) or vanishes
        world.Barrier();
        if (File.Exists(run.SupernetMeta))
            throw new InvalidOperationException(
                $"{run.Root} already holds a supernet checkpoint ({Path.GetFileName(run.SupernetMeta)}); resume it or choose another folder.");
        var clock = Stopwatch.StartNew();
        var device = DeviceSelector.Resolve(Options.Device);
        var plan = DataPlan.Create(Preset, Options, data);
        var valRandom = new ArchitectureSampler(Preset, SeedMix.Mix(Options.Seed, 0, StreamValidationArchitectures));
        var valArchs = Enumerable.Range(0, Options.ValidationArchitectures).Select(_ => valRandom.Sample(canonical: true)).ToArray();

        torch.manual_seed(Options.Seed);
        using var net = new Supernet(Preset);
        Modules.WeightInit.Apply(net, Options.Init);
        net.to(device);
        using var optimizer = MakeOptimizer(net, Options);
        var sampler = new FairPathSampler(Preset, SeedMix.Mix(Options.Seed, 0, StreamSampler), Options.Sampling, Options.PathsPerStep);
        var session = new Session(Preset, Options, plan, run, net, optimizer, sampler, valArchs,
            new List<SupernetEpochMetrics>(), DataFingerprint.Of(data));
        world.Barrier();
        session.SaveCheckpoint(0);
        return session.RunEpochs(0, progress, cancellationToken, clock);
    }

    /// <summary>
    /// Continues the run in <paramref name="run"/> at the epoch after its checkpoint, with the options, schedule and
    /// sampler state stored there (only the device may change). A finished run is returned as is.
    /// </summary>
    /// <param name="run">Folder written by <see cref="Train"/>.</param>
    /// <param name="data">The same training data as the original run (checked by fingerprint).</param>
    /// <param name="progress">Progress sink.</param>
    /// <param name="cancellationToken">Cancellation, honoured between steps.</param>
    /// <param name="device">Device override (cpu, cuda, cuda:N); null keeps the stored one.</param>
    /// <exception cref="InvalidDataException">Metadata, weights or optimizer state are corrupt or do not match.</exception>
    /// <exception cref="InvalidOperationException">The data differ from the data the checkpoint was trained on.</exception>
    public static SupernetTrainingResult Resume(RunFolder run, ImageDataset data, IProgress<TrainingProgress>? progress = null,
        CancellationToken cancellationToken = default, string? device = null)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(data);
        var clock = Stopwatch.StartNew();
        var (info, options, state, history) = ReadTraining(run);
        if (device is not null) options = options with { Device = device };
        try { options.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{run.SupernetMeta}: stored options are invalid ({e.Message}).", e); }
        if (info.Epoch < 0 || info.Epoch > options.Epochs || history.Count != info.Epoch || info.Epochs != options.Epochs)
            throw new InvalidDataException(
                $"{run.SupernetMeta}: inconsistent progress (epoch {info.Epoch} of {info.Epochs}, {history.Count} history entries, options.epochs {options.Epochs}).");
        var preset = SupernetCheckpoint.ReadPreset(run);
        if (info.Epoch == options.Epochs)
            return new SupernetTrainingResult(info.Epoch, options.Epochs, history, clock.Elapsed.TotalSeconds, run.Root);

        CheckData(preset, data);
        var fingerprint = DataFingerprint.Of(data);
        if (fingerprint != state.Data)
            throw new InvalidOperationException(
                $"The data given to resume differ from the data {run.Root} was trained on ({fingerprint.Count} images, SHA-256 {fingerprint.Sha256[..12]}… " +
                $"vs {state.Data.Count} images, {state.Data.Sha256[..Math.Min(12, state.Data.Sha256.Length)]}…). Pass the same --data.");
        var plan = DataPlan.Create(preset, options, data);
        if (plan.StepsPerEpoch != state.StepsPerEpoch)
            throw new InvalidDataException($"{run.SupernetMeta}: {state.StepsPerEpoch} steps per epoch recorded, {plan.StepsPerEpoch} recomputed; the checkpoint does not belong to these options.");
        Architecture[] valArchs;
        try { valArchs = state.ValidationArchitectures.Select(t => ArchitectureCodec.Parse(t, preset)).ToArray(); }
        catch (Exception e) when (e is FormatException or ArgumentException)
        {
            throw new InvalidDataException($"{run.SupernetMeta}: invalid validation architecture ({e.Message}).", e);
        }

        var dev = DeviceSelector.Resolve(options.Device);
        var (net, _) = SupernetCheckpoint.Load(run, dev);
        using (net)
        {
            using var optimizer = MakeOptimizer(net, options);
            SupernetCheckpoint.LoadOptimizer(run, info, optimizer, dev);
            var sampler = FairPathSampler.Restore(preset, state.Sampler, options.Sampling, options.PathsPerStep);
            var session = new Session(preset, options, plan, run, net, optimizer, sampler, valArchs, history, fingerprint);
            return session.RunEpochs(info.Epoch, progress, cancellationToken, clock);
        }
    }

    /// <summary>The trainer options stored in the checkpoint of <paramref name="run"/> (e.g. its <c>DataPath</c> for a resume).</summary>
    /// <exception cref="InvalidDataException">The metadata are corrupt or were not written by this trainer.</exception>
    public static SupernetTrainerOptions ReadOptions(RunFolder run) => ReadTraining(run).Options;

    private static (SupernetCheckpointInfo Info, SupernetTrainerOptions Options, SupernetTrainingState State, List<SupernetEpochMetrics> History) ReadTraining(RunFolder run)
    {
        var info = SupernetCheckpoint.ReadInfo(run);
        if (info.Options is null || info.State is null || info.History is null)
            throw new InvalidDataException($"{run.SupernetMeta} has no training options, state or history: it was not written by SupernetTrainer and cannot be resumed.");
        try
        {
            var options = info.Options.Deserialize<SupernetTrainerOptions>(Json) ?? throw new InvalidDataException($"{run.SupernetMeta}: options are null.");
            var state = info.State.Deserialize<SupernetTrainingState>(Json) ?? throw new InvalidDataException($"{run.SupernetMeta}: state is null.");
            var history = info.History.Deserialize<List<SupernetEpochMetrics>>(Json) ?? throw new InvalidDataException($"{run.SupernetMeta}: history is null.");
            return (info, options, state, history);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{run.SupernetMeta}: corrupt training options, state or history ({e.Message}).", e);
        }
    }

    /// <summary>Throws <see cref="ArgumentException"/> if the images or classes do not fit the preset.</summary>
    public static void CheckData(SearchSpacePreset preset, ImageDataset data)
    {
        if (data.Channels != preset.InputChannels || data.Height != preset.InputSize || data.Width != preset.InputSize)
            throw new ArgumentException(
                $"The data have {data.Channels}×{data.Height}×{data.Width} images; preset '{preset.Name}' expects " +
                $"{preset.InputChannels}×{preset.InputSize}×{preset.InputSize}. Choose a preset for these images.");
        if (data.ClassCount != preset.NumClasses)
            throw new ArgumentException($"The data have {data.ClassCount} classes; preset '{preset.Name}' has {preset.NumClasses}.");
    }

    /// <summary>
    /// One optimizer step: a single-path forward/backward pass per path on the same batch (gradients summed over
    /// the paths, each pass in its own dispose scope so its activations are freed before the next), then one update
    /// at <paramref name="lr"/>. Returns the sum of the per-pass mean losses and the number of correct predictions.
    /// </summary>
    /// <exception cref="TrainingDivergedException">A pass's loss is NaN or infinite (no update is made).</exception>
    internal static (double LossSum, long Correct) TrainStep(Supernet net, torch.optim.Optimizer optimizer, Tensor images, Tensor labels,
        IReadOnlyList<Architecture> paths, double lr, double labelSmoothing, int epoch, int step, Action? beforeUpdate = null)
    {
        using var scope = torch.NewDisposeScope();
        net.zero_grad();
        double lossSum = 0;
        long correct = 0;
        foreach (var path in paths)
        {
            using var pass = torch.NewDisposeScope();
            var logits = net.Forward(images, path);
            var loss = F.cross_entropy(logits, labels, label_smoothing: labelSmoothing);
            double value = loss.item<float>();
            if (!double.IsFinite(value))
                throw new TrainingDivergedException(StageName, epoch, step, value, detail: $"path {path}");
            loss.backward();
            lossSum += value;
            correct += logits.argmax(1).eq(labels).sum().item<long>();
        }
        beforeUpdate?.Invoke(); // data-parallel runs sum the ranks' gradients here (docs/distributed.md §2)
        foreach (var g in optimizer.ParamGroups) g.LearningRate = lr;
        optimizer.step();
        return (lossSum, correct);
    }

    /// <summary>
    /// The training and validation images of a run with <paramref name="options"/> on <paramref name="data"/>
    /// (positions in <paramref name="data"/>, each ascending): an optional seeded subset of
    /// <see cref="SupernetTrainerOptions.MaxTrainImages"/> images, then a class-stratified seeded hold-out of
    /// <see cref="SupernetTrainerOptions.ValidationFraction"/>. Later stages call this to use the same held-out part.
    /// </summary>
    public static TrainValidationIndices Split(ImageDataset data, SupernetTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(options);
        int[] pool = Enumerable.Range(0, data.Count).ToArray();
        if (options.MaxTrainImages is int max && max < data.Count)
            pool = DataSplit.Permutation(data.Count, new Random(SeedMix.Mix(options.Seed, 0, StreamSubset))).Take(max).Order().ToArray();
        var labels = pool.Select(i => data.Labels[i]).ToArray();
        var split = DataSplit.TrainValidation(pool.Length, options.ValidationFraction, SeedMix.Mix(options.Seed, 0, StreamSplit), labels);
        return new TrainValidationIndices(split.Train.Select(i => pool[i]).ToArray(), split.Validation.Select(i => pool[i]).ToArray());
    }

    internal static torch.optim.Optimizer MakeOptimizer(Supernet net, SupernetTrainerOptions o) =>
        torch.optim.SGD(net.parameters(), o.LearningRate, momentum: o.Momentum, weight_decay: o.WeightDecay);

    // Stream numbers of SeedMix.Mix(seed, 0, stream): each consumer of randomness gets its own stream.
    private const int StreamSubset = 101, StreamSplit = 102, StreamBatches = 103, StreamSampler = 104, StreamValidationArchitectures = 105;

    /// <summary>Which images train and validate, and how they are batched; a pure function of options and data.</summary>
    private sealed record DataPlan(int[] Train, int[] Validation, MiniBatchIterator TrainBatches, MiniBatchIterator ValidationBatches)
    {
        public int StepsPerEpoch => TrainBatches.BatchesPerEpoch;

        public static DataPlan Create(SearchSpacePreset preset, SupernetTrainerOptions o, ImageDataset data)
        {
            var split = Split(data, o);
            var (train, val) = (split.Train, split.Validation);
            var norm = new ChannelNormalization(preset.Mean.ToArray(), preset.Std.ToArray());
            var device = DeviceSelector.Resolve(o.Device);
            // Drop a ragged last batch: a batch of one or two images gives noisy BN statistics and a skewed step.
            var trainIt = new MiniBatchIterator(data, o.BatchSize, norm, SeedMix.Mix(o.Seed, 0, StreamBatches), train, shuffle: true,
                dropLast: train.Length >= o.BatchSize, augmentation: o.Augment ? BatchAugmentations.CropAndFlip() : null, device: device);
            var valIt = new MiniBatchIterator(data, o.BatchSize, norm, 0, val, shuffle: false, dropLast: false, device: device);
            return new DataPlan(train, val, trainIt, valIt);
        }
    }

    /// <summary>The mutable state of one training call.</summary>
    private sealed class Session(SearchSpacePreset preset, SupernetTrainerOptions o, DataPlan plan, RunFolder run, Supernet net, torch.optim.Optimizer optimizer, FairPathSampler sampler, Architecture[] valArchs,
        List<SupernetEpochMetrics> history, DataFingerprint fingerprint)
    {
        private readonly DataParallel _parallel = DataParallel.For(net.parameters());

        public SupernetTrainingResult RunEpochs(int startEpoch, IProgress<TrainingProgress>? progress, CancellationToken ct, Stopwatch clock)
        {
            _parallel.Barrier(); // a resuming rank has read the checkpoint before rank 0 may replace it
            int steps = plan.StepsPerEpoch, K = o.PathsPerStep;
            long total = (long)steps * o.Epochs;
            for (int epoch = startEpoch; epoch < o.Epochs; epoch++)
            {
                ct.ThrowIfCancellationRequested();
                var epochClock = Stopwatch.StartNew();
                net.train();
                double lossSum = 0, lr = o.LearningRate;
                long correct = 0, seen = 0;
                int step = 0;
                foreach (var batch in plan.TrainBatches.Epoch(epoch))
                {
                    using (batch)
                    {
                        ct.ThrowIfCancellationRequested();
                        lr = CosineSchedule.Rate(o.LearningRate, (long)epoch * steps + step, total);
                        var (loss, hits) = Step(batch, lr, epoch + 1, step + 1);
                        lossSum += loss; correct += hits; seen += (long)batch.Count * K;
                    }
                    step++;
                    progress?.Report(new TrainingProgress(StageName, epoch + 1, o.Epochs, step, steps,
                        new Dictionary<string, double> { ["loss"] = lossSum / (step * K), ["acc"] = (double)correct / seen, ["lr"] = lr }));
                }
                // Each rank saw its shard: loss (weighted by shard size) and hits summed over ranks are the global batch's.
                if (_parallel.Size > 1)
                {
                    Span<double> totals = [lossSum * _parallel.ShardOf(plan.TrainBatches.BatchSize).Weight, correct];
                    _parallel.Sum(totals);
                    (lossSum, correct) = (totals[0], (long)Math.Round(totals[1]));
                }
                var (valLoss, valTop1) = Validate();
                var m = new SupernetEpochMetrics(epoch + 1, lossSum / (steps * K), (double)correct / seen, valLoss, valTop1, lr, epochClock.Elapsed.TotalSeconds);
                history.Add(m);
                SaveCheckpoint(epoch + 1);
                progress?.Report(new TrainingProgress(StageName, epoch + 1, o.Epochs, steps, steps,
                    new Dictionary<string, double>
                    {
                        ["loss"] = m.TrainLoss, ["acc"] = m.TrainTop1, ["valLoss"] = m.ValidationLoss, ["valTop1"] = m.ValidationTop1, ["lr"] = lr,
                    }, EpochDone: true));
            }
            return new SupernetTrainingResult(o.Epochs, o.Epochs, history.ToArray(), clock.Elapsed.TotalSeconds, run.Root);
        }

        private (double LossSum, long Correct) Step(ImageBatch batch, double lr, int epoch, int step)
        {
            var (images, labels, weight) = _parallel.Shard(batch);
            using var sync = _parallel.StepScope();
            return TrainStep(net, optimizer, images, labels, sampler.NextStep(), lr, o.LabelSmoothing, epoch, step,
                _parallel.Size > 1 ? () => _parallel.ReduceGradients(weight) : null);
        }

        /// <summary>Mean validation loss and top-1 over the fixed validation architectures.</summary>
        private (double Loss, double Top1) Validate()
        {
            net.eval();
            double lossSum = 0, top1Sum = 0;
            using (torch.no_grad())
            {
                foreach (var arch in valArchs)
                {
                    double loss = 0;
                    long correct = 0, n = 0;
                    foreach (var batch in plan.ValidationBatches.Epoch(0))
                    {
                        using (batch)
                        using (torch.NewDisposeScope())
                        {
                            var logits = net.Forward(batch.Images, arch);
                            loss += F.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.Sum).item<float>();
                            correct += logits.argmax(1).eq(batch.Labels).sum().item<long>();
                            n += batch.Count;
                        }
                    }
                    lossSum += loss / n;
                    top1Sum += (double)correct / n;
                }
            }
            net.train();
            return (lossSum / valArchs.Length, top1Sum / valArchs.Length);
        }

        public void SaveCheckpoint(int epochsDone)
        {
            var state = new SupernetTrainingState(sampler.State, valArchs.Select(a => a.ToString()).ToArray(), plan.StepsPerEpoch, fingerprint);
            var info = new SupernetCheckpointInfo
            {
                Preset = SupernetCheckpoint.PresetNode(preset),
                Epoch = epochsDone,
                Epochs = o.Epochs,
                Options = JsonSerializer.SerializeToNode(o, Json),
                State = JsonSerializer.SerializeToNode(state, Json),
                History = (JsonArray)JsonSerializer.SerializeToNode(history, Json)!,
            };
            if (_parallel.IsWriter) SupernetCheckpoint.Save(run, net, optimizer, info);
        }
    }
}
