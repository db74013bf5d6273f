using System.Diagnostics;
using System.Text.Json;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Distributed;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Training;

/// <summary>Loss, top-1, top-5 and confusion matrix of a network on a set of images (eval mode).</summary>
/// <param name="Loss">Mean cross-entropy (no label smoothing).</param>
/// <param name="Top1">Top-1 accuracy.</param>
/// <param name="Top5">Top-5 accuracy (top-k with k = min(5, classes)).</param>
/// <param name="Count">Images evaluated.</param>
/// <param name="Confusion">Rows true class, columns predicted class.</param>
public sealed record EvaluationResult(double Loss, double Top1, double Top5, int Count, int[][] Confusion);

/// <summary>
/// Stage 3 of SGNAS (docs/design.md §1 and §5): trains a chosen architecture from scratch as a standalone
/// <see cref="ChildNetwork"/>, selects the epoch with the best validation top-1, and measures it on a held-out test set.
/// Checkpoints every epoch into a <see cref="RetrainFolder"/> and resumes from it.
/// </summary>
public sealed class ArchitectureRetrainer
{
    private const string Stage = "retrain";
    private readonly SearchSpacePreset _preset;
    private readonly Architecture _arch;
    private readonly RetrainOptions _options;
    private readonly Device _device;

    /// <summary>Prepares retraining of <paramref name="arch"/> (validated against <paramref name="preset"/>).</summary>
    public ArchitectureRetrainer(SearchSpacePreset preset, Architecture arch, RetrainOptions? options = null, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(arch);
        arch.Validate(preset);
        _preset = preset;
        _arch = arch.Canonical();
        _options = options ?? new RetrainOptions();
        _options.Validate();
        _device = device ?? CPU;
    }

    /// <summary>The options in use.</summary>
    public RetrainOptions Options => _options;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> if <paramref name="data"/> does not have the preset's image shape and class
    /// count; <paramref name="role"/> names the data in the message (e.g. "training data at /path").
    /// </summary>
    public static void CheckData(SearchSpacePreset preset, ImageDataset data, string role)
    {
        ArgumentNullException.ThrowIfNull(preset);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Channels != preset.InputChannels || data.Height != preset.InputSize || data.Width != preset.InputSize)
            throw new ArgumentException(
                $"{role} has {data.Channels}×{data.Height}×{data.Width} images (channels × height × width); preset '{preset.Name}' expects " +
                $"{preset.InputChannels}×{preset.InputSize}×{preset.InputSize}. Choose a preset made for this data (fashion-small for 28×28 gray, " +
                "cifar for 32×32 RGB) or a preset JSON with matching inputChannels and inputSize.");
        if (data.ClassCount != preset.NumClasses)
            throw new ArgumentException(
                $"{role} has {data.ClassCount} classes; preset '{preset.Name}' has numClasses {preset.NumClasses}. Use a preset with numClasses {data.ClassCount}.");
        if (data.Count == 0) throw new ArgumentException($"{role} holds no images.");
    }

    /// <summary>
    /// Trains on <paramref name="train"/> (minus the validation split), writes checkpoints into <paramref name="outDir"/>,
    /// then evaluates <c>best.pt</c> on <paramref name="test"/> (if given) and writes <c>metrics.json</c>.
    /// </summary>
    /// <exception cref="ArgumentException">Data shape or classes do not match the preset.</exception>
    /// <exception cref="InvalidOperationException">The folder holds a checkpoint but <see cref="RetrainOptions.Resume"/> is off, or the checkpoint is of another architecture.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the last completed epoch's checkpoint is kept.</exception>
    public RetrainMetrics Run(ImageDataset train, ImageDataset? test, string outDir,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        CheckData(_preset, train, "training data");
        if (test != null) CheckData(_preset, test, "test data");
        var folder = new RetrainFolder(outDir);
        var o = _options;
        string archText = ArchitectureCodec.ToText(_arch);

        RetrainState? resumed = null;
        if (folder.HasCheckpoint)
        {
            if (!o.Resume)
                throw new InvalidOperationException(
                    $"{folder.Root} already holds a retraining checkpoint (state.json). Resume it (--resume / Resume = true) or choose another output folder.");
            resumed = ReadState(folder);
            CheckResumable(resumed, archText, folder);
        }

        // Pool (optionally capped), then a stratified seeded validation split of the pool.
        int[] pool = Enumerable.Range(0, train.Count).ToArray();
        if (o.MaxTrainImages is int cap && cap < train.Count)
            pool = DataSplit.Permutation(train.Count, new Random(o.Seed)).Take(cap).Order().ToArray();
        int[] trainIdx = pool, valIdx = Array.Empty<int>();
        if (o.ValidationFraction > 0)
        {
            var split = DataSplit.TrainValidation(pool.Length, o.ValidationFraction, o.Seed, pool.Select(i => train.Labels[i]).ToArray());
            trainIdx = split.Train.Select(i => pool[i]).ToArray();
            valIdx = split.Validation.Select(i => pool[i]).ToArray();
        }

        var norm = resumed != null
            ? new ChannelNormalization(resumed.NormalizationMean, resumed.NormalizationStd)
            : o.Normalization == NormalizationSource.Data
                ? train.Subset(trainIdx).ComputeNormalization()
                : new ChannelNormalization(_preset.Mean.ToArray(), _preset.Std.ToArray());

        var cost = FlopsCounter.Count(_preset, _arch, o.Network);
        manual_seed(o.Seed);
        using var net = new ChildNetwork(_preset, _arch, o.Network);
        WeightInit.Apply(net, o.Init);
        if (resumed != null) AtomicFile.LoadModule(folder.LastWeights, net);
        net.to(_device);
        // Weight EMA (reference retraining script): the average is evaluated, kept as best.pt and tested. It is
        // committed in the same checkpoint as last.pt, so a resumed run continues the same average.
        string emaPath = Path.Combine(folder.Root, EmaFile);
        using var emaNet = o.EmaDecay is null ? null : new ChildNetwork(_preset, _arch, o.Network);
        if (emaNet is not null)
        {
            emaNet.to(_device);
            if (resumed != null && File.Exists(emaPath)) AtomicFile.LoadModule(emaPath, emaNet);
            else using (no_grad()) emaNet.load_state_dict(net.state_dict());
        }
        using var optimizer = CreateOptimizer(net);
        if (resumed != null) LoadOptimizer(folder.LastOptimizer, optimizer);
        // Under MPI: this rank's rows of each batch, gradients summed before each step, rank 0 writes (docs/distributed.md §2).
        var parallel = DataParallel.For(net.parameters());

        var iterator = new MiniBatchIterator(train, o.BatchSize, norm, o.Seed, trainIdx, shuffle: true,
            dropLast: trainIdx.Length >= o.BatchSize, augmentation: ChooseAugmentation(), device: _device);
        using var ema = emaNet is null ? null : new WeightEma(emaNet, o.EmaDecay!.Value, (resumed?.Epoch ?? 0) * (long)iterator.BatchesPerEpoch);
        // Parameters with decay: conv and linear weights (rank > 1); BN affine parameters and biases are left alone.
        var decayed = net.parameters().Where(p => p.dim() > 1).ToArray();
        double weightDecay = o.EffectiveWeightDecay;

        var state = resumed ?? new RetrainState
        {
            Architecture = archText, Preset = SupernetCheckpoint.PresetNode(_preset), Options = o,
            NormalizationMean = norm.Mean, NormalizationStd = norm.Std,
        };
        var history = new List<RetrainEpochRecord>(state.History);

        for (int epoch = state.Epoch; epoch < o.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var wall = Stopwatch.StartNew();
            // Dropout draws from the global generator: seed it per epoch so a resumed epoch repeats.
            manual_seed(SeedMix.Mix(o.Seed, epoch, 3));
            if (parallel.Rank > 0) manual_seed(SeedMix.Mix(o.Seed, epoch, 3 + parallel.Rank)); // own dropout masks per rank
            net.train();
            int steps = iterator.BatchesPerEpoch, step = 0;
            double lossSum = 0, lr = 0;
            long correct = 0, seen = 0;
            var trainClock = Stopwatch.StartNew();
            foreach (var batch in iterator.Epoch(epoch))
            {
                using var scope = NewDisposeScope();
                using var _ = batch;
                cancellationToken.ThrowIfCancellationRequested();
                step++;
                // Rate at the end of the step, so warm-up's first step already moves the weights.
                lr = o.LearningRateAt(epoch + (double)step / steps);
                optimizer.ZeroGrad();
                var (images, labels, weight) = parallel.Shard(batch);
                using var sync = parallel.StepScope();
                var logits = net.call(images);
                var ce = nn.functional.cross_entropy(logits, labels, label_smoothing: o.LabelSmoothing);
                double lossValue = ce.item<float>();
                if (!double.IsFinite(lossValue)) throw new TrainingDivergedException(Stage, epoch + 1, step, lossValue, lr);
                var loss = weightDecay > 0 ? ce + 0.5 * weightDecay * L2(decayed) : ce;
                loss.backward();
                parallel.ReduceGradients(weight);
                optimizer.Step(lr);
                ema?.Update(net);
                int rows = (int)labels.shape[0];
                lossSum += lossValue * rows;
                correct += ClassificationMetrics.CorrectTopK(logits, labels, 1);
                seen += rows;
                progress?.Report(new TrainingProgress(Stage, epoch + 1, o.Epochs, step, steps,
                    new Dictionary<string, double> { ["loss"] = lossSum / seen, ["top1"] = (double)correct / seen, ["lr"] = lr }));
            }
            double trainSeconds = trainClock.Elapsed.TotalSeconds;
            if (parallel.Size > 1)
            {
                Span<double> totals = [lossSum, correct, seen];
                parallel.Sum(totals);
                (lossSum, correct, seen) = (totals[0], (long)Math.Round(totals[1]), (long)Math.Round(totals[2]));
            }

            if (ema is not null) ema.CopyTo(emaNet!);
            EvaluationResult? val = valIdx.Length > 0 ? Evaluate(emaNet ?? net, train, valIdx, norm) : null;
            int done = epoch + 1;
            bool better = val == null || val.Top1 > state.BestValidationTop1;
            var record = new RetrainEpochRecord(done, lr, lossSum / seen, (double)correct / seen, val?.Loss, val?.Top1, val?.Top5,
                wall.Elapsed.TotalSeconds, seen / Math.Max(trainSeconds, 1e-9));
            history.Add(record);
            state = state with
            {
                Epoch = done, LearningRate = lr, History = history.ToList(),
                BestValidationTop1 = better ? val?.Top1 ?? -1 : state.BestValidationTop1,
                BestEpoch = better ? done : state.BestEpoch,
                TrainSeconds = state.TrainSeconds + trainSeconds, TrainImages = state.TrainImages + seen,
                Seconds = state.Seconds + wall.Elapsed.TotalSeconds,
                Options = o,
            };
            if (parallel.IsWriter) SaveCheckpoint(folder, net, optimizer, state, better, emaNet);
            parallel.Barrier(); // best.pt exists for every rank's final test below
            var metrics = new Dictionary<string, double> { ["loss"] = record.TrainLoss, ["top1"] = record.TrainTop1, ["lr"] = lr };
            if (val != null) { metrics["valTop1"] = val.Top1; metrics["valLoss"] = val.Loss; }
            progress?.Report(new TrainingProgress(Stage, done, o.Epochs, steps, steps, metrics, EpochDone: true));
        }

        // Final measurement of the selected epoch on the held-out test set.
        if (!File.Exists(folder.BestWeights))
            throw new InvalidOperationException($"{folder.Root}: best.pt is missing although state.json names epoch {state.Epoch}; the folder was altered.");
        using (var best = new ChildNetwork(_preset, _arch, o.Network))
        {
            AtomicFile.LoadModule(folder.BestWeights, best);
            best.to(_device);
            EvaluationResult? t = test != null ? Evaluate(best, test, Enumerable.Range(0, test.Count).ToArray(), norm) : null;
            var result = new RetrainMetrics
            {
                Architecture = archText, Preset = _preset.Name,
                TestTop1 = t?.Top1, TestTop5 = t?.Top5, TestLoss = t?.Loss, TestImages = t?.Count ?? 0,
                TestSource = test is null ? null : test.Source ?? "given by the caller (source not recorded)",
                ConfusionMatrix = t?.Confusion, ClassNames = (test ?? train).ClassNames,
                FlopsM = cost.FlopsM, ParamsM = cost.ParamsM,
                Epochs = state.Epoch, BestEpoch = state.BestEpoch,
                BestValidationTop1 = state.BestValidationTop1 >= 0 ? state.BestValidationTop1 : null,
                Seconds = state.Seconds, ImagesPerSecondTrain = state.TrainImages / Math.Max(state.TrainSeconds, 1e-9),
                Options = o, NormalizationMean = norm.Mean, NormalizationStd = norm.Std, History = state.History,
            };
            if (parallel.IsWriter) AtomicFile.WriteAllText(folder.Metrics, JsonSerializer.Serialize(result, RetrainJson.Options));
            return result;
        }
    }

    /// <summary>
    /// Evaluates <paramref name="net"/> in eval mode without gradients on the images at <paramref name="indices"/>,
    /// normalised with <paramref name="normalization"/>; restores the module's previous mode.
    /// </summary>
    public EvaluationResult Evaluate(nn.Module<Tensor, Tensor> net, ImageDataset data, int[] indices, ChannelNormalization normalization)
    {
        ArgumentNullException.ThrowIfNull(net);
        ArgumentNullException.ThrowIfNull(data);
        bool wasTraining = net.training;
        net.eval();
        try
        {
            using var _ = no_grad();
            var it = new MiniBatchIterator(data, _options.EvalBatchSize, normalization, 0, indices, shuffle: false, device: _device);
            var confusion = ClassificationMetrics.NewConfusion(data.ClassCount);
            double lossSum = 0;
            long top1 = 0, top5 = 0, n = 0;
            foreach (var batch in it.Epoch(0))
            {
                using var scope = NewDisposeScope();
                using var __ = batch;
                var logits = net.call(batch.Images);
                lossSum += nn.functional.cross_entropy(logits, batch.Labels, reduction: nn.Reduction.Sum).item<float>();
                top1 += ClassificationMetrics.CorrectTopK(logits, batch.Labels, 1);
                top5 += ClassificationMetrics.CorrectTopK(logits, batch.Labels, 5);
                ClassificationMetrics.AddToConfusion(confusion, logits, batch.Labels);
                n += batch.Count;
            }
            return new EvaluationResult(lossSum / n, (double)top1 / n, (double)top5 / n, (int)n, confusion);
        }
        finally
        {
            net.train(wasTraining);
        }
    }

    /// <summary>Reads <c>state.json</c> of a retraining folder, with clear errors for a missing or corrupt file.</summary>
    public static RetrainState ReadState(RetrainFolder folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        if (!folder.HasCheckpoint) throw new FileNotFoundException($"No retraining checkpoint in {folder.Root} (expected state.json).", folder.State);
        folder.Set.Verify();
        try
        {
            return JsonSerializer.Deserialize<RetrainState>(File.ReadAllText(folder.State), RetrainJson.Options)
                   ?? throw new InvalidDataException($"{folder.State} is empty.");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{folder.State}: corrupt retraining state ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Rebuilds the network of a retraining folder from its state.json and loads <c>best.pt</c> (or <c>last.pt</c>)
    /// onto <paramref name="device"/> in eval mode, e.g. for export.
    /// </summary>
    public static (ChildNetwork Network, RetrainState State) LoadNetwork(RetrainFolder folder, Device? device = null, bool best = true)
    {
        var state = ReadState(folder);
        var preset = SearchSpacePreset.FromJson(state.Preset.ToJsonString(), folder.State);
        var arch = ArchitectureCodec.Parse(state.Architecture, preset);
        var net = new ChildNetwork(preset, arch, state.Options.Network);
        try
        {
            AtomicFile.LoadModule(best ? folder.BestWeights : folder.LastWeights, net);
            net.to(device ?? CPU);
            net.eval();
        }
        catch
        {
            net.Dispose();
            throw;
        }
        return (net, state);
    }

    private void CheckResumable(RetrainState s, string archText, RetrainFolder folder)
    {
        string Where() => $"{folder.State}";
        if (s.Architecture != archText)
            throw new InvalidOperationException($"{Where()} is a checkpoint of architecture {s.Architecture}, not {archText}; use another output folder.");
        var preset = SearchSpacePreset.FromJson(s.Preset.ToJsonString(), folder.State);
        if (preset.ToJson() != _preset.ToJson())
            throw new InvalidOperationException($"{Where()} was trained on preset '{preset.Name}', which differs from '{_preset.Name}' given now.");
        if (s.Options.Network != _options.Network)
            throw new InvalidOperationException($"{Where()} was trained with network options {s.Options.Network}; now {_options.Network}. Resume with the same --se/--hswish.");
        if (s.Options.Optimizer != _options.Optimizer)
            throw new InvalidOperationException($"{Where()} was trained with optimizer {s.Options.Optimizer}; now {_options.Optimizer}.");
        // The validation split derives from these three; changing them would let held-out images into training.
        if (s.Options.Seed != _options.Seed || s.Options.ValidationFraction != _options.ValidationFraction || s.Options.MaxTrainImages != _options.MaxTrainImages)
            throw new InvalidOperationException(
                $"{Where()} was trained with seed {s.Options.Seed}, validation fraction {s.Options.ValidationFraction} and max train images " +
                $"{s.Options.MaxTrainImages?.ToString() ?? "all"}; resume with the same values (now {_options.Seed}, {_options.ValidationFraction}, " +
                $"{_options.MaxTrainImages?.ToString() ?? "all"}) so that the validation images stay held out.");
        if (!File.Exists(folder.LastWeights) || !File.Exists(folder.LastOptimizer))
            throw new InvalidOperationException($"{folder.Root}: state.json is present but last.pt or last.optim.pt is missing; cannot resume.");
    }

    private IRetrainOptimizer CreateOptimizer(ChildNetwork net)
    {
        var o = _options;
        // Weight decay is applied as an L2 term on conv/linear weights only, so the optimizers get none.
        // The rate passed at construction is a placeholder: every step sets the scheduled rate.
        return o.Optimizer == RetrainOptimizer.RmsProp
            ? new TfRmsPropAdapter(new TfRmsProp(net.parameters(), o.RmsPropAlpha, o.RmsPropEpsilon, o.Momentum))
            : new TorchOptimizerAdapter(torch.optim.SGD(net.parameters(), o.EffectiveLearningRate, momentum: o.Momentum, weight_decay: 0, nesterov: o.Momentum > 0));
    }

    private static void LoadOptimizer(string path, IRetrainOptimizer optimizer)
    {
        try
        {
            using var fs = File.OpenRead(path);
            optimizer.Load(fs);
        }
        catch (Exception e) when (e is not FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: not a readable optimizer state for this network and optimizer ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Saves the epoch as one checkpoint (<see cref="CheckpointSet"/>): last weights, optimizer state, the weight
    /// average (<c>ema.pt</c>, when kept), best weights (new ones when this epoch is the best — the average's when there
    /// is one, since that is what was validated — else the kept ones) and state.json. Everything goes through the one
    /// commit, so the manifest always describes the files on disk and a kill leaves the previous epoch or this one.
    /// </summary>
    private static void SaveCheckpoint(RetrainFolder folder, ChildNetwork net, IRetrainOptimizer optimizer, RetrainState state, bool better, ChildNetwork? ema)
    {
        byte[] weights = AtomicFile.ModuleBytes(net);
        byte[]? average = ema is null ? null : AtomicFile.ModuleBytes(ema);
        var files = new List<CheckpointFile>
        {
            new(Path.GetFileName(folder.LastWeights), weights),
            new(Path.GetFileName(folder.LastOptimizer), AtomicFile.Bytes(optimizer.Save)),
        };
        if (average is not null) files.Add(new CheckpointFile(EmaFile, average));
        if (better) files.Add(new CheckpointFile(Path.GetFileName(folder.BestWeights), average ?? weights));
        files.Add(new CheckpointFile(Path.GetFileName(folder.State), System.Text.Encoding.UTF8.GetBytes(JsonSerializer.Serialize(state, RetrainJson.Options))));
        folder.Set.Commit($"epoch {state.Epoch}", files, keep: better ? null : [Path.GetFileName(folder.BestWeights)]);
    }

    // The weight average's file in a retraining folder (resumed with the checkpoint it was committed with).
    private const string EmaFile = "ema.pt";

    private BatchAugmentation? ChooseAugmentation()
    {
        int size = _preset.InputSize;
        return _options.Augmentation switch
        {
            RetrainAugmentation.None => null,
            RetrainAugmentation.CropAndFlip => BatchAugmentations.CropAndFlip(CropPadding(size)),
            RetrainAugmentation.RandomResizedCrop => BatchAugmentations.RandomResizedCrop(),
            _ => size >= 64 ? BatchAugmentations.RandomResizedCrop() : BatchAugmentations.CropAndFlip(CropPadding(size)),
        };
    }

    /// <summary>Padding of the random crop: 2 up to 28 px (Fashion-MNIST-like), 4 above (CIFAR recipe).</summary>
    internal static int CropPadding(int inputSize) => inputSize <= 28 ? 2 : 4;

    private static Tensor L2(Tensor[] weights)
    {
        Tensor? sum = null;
        foreach (var w in weights) sum = sum is null ? w.square().sum() : sum + w.square().sum();
        return sum ?? tensor(0f);
    }
}
