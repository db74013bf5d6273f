using System.Diagnostics;
using Sgnas.Cost;
using Sgnas.Data;
using Sgnas.Distributed;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using Sgnas.Training;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.Generation;

/// <summary>
/// Trains the architecture generator on a frozen supernet (SGNAS Algorithm 1, paper section 3.2.3 and appendix A.3;
/// docs/design.md §4–5). Per step: a validation batch (X, y); a target C ~ U[C_low, C_high]; the prior B nearest
/// to C; α = G(B, c) with c the normalised target; m = Gumbel-softmax(α, τ) (Eq. 2); loss = CE(supernet(X; m), y) +
/// λ·L_C(Cost(m), C) (Eq. 9, 10); Adam on G only. τ starts at 5.0 and decays ×0.95 per epoch.
/// After each epoch: targets evenly spread over the interval → discrete architectures in one pass → Kendall τ,
/// Pearson, mean absolute relative error and the summed L_C (constraint fit); and the average supernet top-1 of the
/// architectures generated for a few targets, each scored on its positional path (docs/generator.md section 1) on
/// fixed validation batches. The epoch kept is chosen by <see cref="GeneratorSelection"/>: by default the best
/// average top-1 among epochs whose fit is within tolerance, as the reference keeps the best average top-1 among
/// epochs under a loss gate.
/// <para>
/// The constraint is a <see cref="ConstraintCost"/> (docs/latency.md): FLOPs by default (Eq. 9), or latency in ms
/// from a measured table, whose relaxed cost is the Eq. 9 twin <see cref="LatencyCostModel.ExpectedMs(Tensor)"/>.
/// Targets, the interval, the margin and the evaluation metrics are then in ms; λ's default is scaled to the
/// interval's width (<see cref="GeneratorOptions.ResolveCostWeight"/>), so it needs no unit of its own.
/// </para>
/// </summary>
public sealed class GeneratorTrainer
{
    private readonly Supernet _supernet;
    private readonly GeneratorOptions _options;
    private readonly Device _device;
    private readonly ConstraintCost _cost;

    /// <summary>Creates a trainer for an already trained <paramref name="supernet"/> (already on <paramref name="device"/>).</summary>
    /// <param name="supernet">The trained supernet (frozen during training).</param>
    /// <param name="options">Training options (null: defaults).</param>
    /// <param name="device">Device of the supernet and the generator.</param>
    /// <param name="cost">The constraint to train for: null for FLOPs (Eq. 9), or a latency cost
    /// (<see cref="ConstraintCost.Create"/> with a table measured for the supernet's preset).</param>
    /// <exception cref="ArgumentException">The cost is for another preset, or has no differentiable form (measured latency).</exception>
    public GeneratorTrainer(Supernet supernet, GeneratorOptions? options, Device device, ConstraintCost? cost = null)
    {
        ArgumentNullException.ThrowIfNull(supernet);
        ArgumentNullException.ThrowIfNull(device);
        _supernet = supernet; _options = options ?? new GeneratorOptions(); _device = device;
        _options.Validate();
        _cost = cost ?? ConstraintCost.Create(ConstraintKind.Flops, supernet.Preset);
        if (_cost.Preset.ToJson() != supernet.Preset.ToJson())
            throw new ArgumentException($"the {ConstraintKinds.Name(_cost.Kind)} cost is for preset '{_cost.Preset.Name}', the supernet uses '{supernet.Preset.Name}' (or other settings).", nameof(cost));
        if (!_cost.IsDifferentiable)
            throw new ArgumentException("the generator is trained through a differentiable cost (Eq. 9 or its latency twin over a table); measured latency can only judge its picks.", nameof(cost));
    }

    /// <summary>The constraint the generator is trained for.</summary>
    public ConstraintCost Cost => _cost;

    /// <summary>
    /// Runs generator training on the validation images <paramref name="validationIndices"/> of <paramref name="data"/>
    /// and returns the generator of the selected epoch (<see cref="GeneratorSelection"/>) with its pool and history.
    /// </summary>
    /// <param name="data">The supernet's training data; only <paramref name="validationIndices"/> are read.</param>
    /// <param name="validationIndices">The validation split the generator is trained on (paper §3.3: the supernet's weights never saw it).</param>
    /// <param name="normalization">The preset's per-channel normalisation.</param>
    /// <param name="progress">Per-step and per-epoch progress.</param>
    /// <param name="cancellationToken">Stops between steps; the last epoch's checkpoint stays usable.</param>
    /// <param name="checkpoint">Optional per-epoch checkpoint; when it holds a saved state (and allows resume), training
    /// continues after its last epoch with the result an uninterrupted run would have.</param>
    /// <exception cref="InvalidOperationException">The loss became NaN or infinite.</exception>
    public ArchitectureGeneratorModel Train(ImageDataset data, int[] validationIndices, ChannelNormalization normalization,
        IProgress<TrainingProgress>? progress = null, CancellationToken cancellationToken = default, GeneratorCheckpoint? checkpoint = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(validationIndices);
        var preset = _supernet.Preset;
        if (data.Channels != preset.InputChannels || data.Height != preset.InputSize || data.Width != preset.InputSize)
            throw new ArgumentException($"images are {data.Channels}×{data.Height}×{data.Width}; preset '{preset.Name}' expects " +
                                        $"{preset.InputChannels}×{preset.InputSize}×{preset.InputSize}.", nameof(data));
        if (data.ClassCount > preset.NumClasses)
            throw new ArgumentException($"the data has {data.ClassCount} classes; the supernet's head has {preset.NumClasses}.", nameof(data));
        var o = _options;
        var cost = _cost;
        var (min, max) = cost.Range();
        var (pLow, pHigh) = cost.ConstraintInterval();
        double low = o.ConstraintLowM ?? pLow, high = o.ConstraintHighM ?? pHigh;
        if (!(high > low) || low < min - 1e-9 || high > max + 1e-9)
            throw new ArgumentOutOfRangeException(nameof(GeneratorOptions.ConstraintLowM), $"{low}..{high}",
                $"the constraint interval must be non-empty and inside the feasible range {min:F4}..{max:F4} {cost.Unit} of preset '{preset.Name}'.");
        double width = high - low, lambda = o.ResolveCostWeight(width), margin = o.ResolveMarginM(width);

        var pool = o.Prior == PriorKind.SingleRandom
            ? PriorPool.SingleRandom(cost, low, high, o.Seed)
            : PriorPool.Build(cost, low, high, o.PriorBuckets, o.Seed, o.PriorMaxTries);
        var generator = ArchitectureGenerator.For(preset, o.ConstraintChannels, o.HiddenChannels, o.BodyLayers, o.Seed);
        generator.to(_device);
        var history = new List<GeneratorEpochMetrics>();
        var model = new ArchitectureGeneratorModel(preset, generator, pool, low, high, o, o.InitialTemperature, history, _device, cost);

        // Freeze the supernet: eval mode (BN uses and keeps its running statistics) and no parameter gradients.
        var frozen = _supernet.parameters().Select(p => (p, p.requires_grad)).ToList();
        bool wasTraining = _supernet.training;
        _supernet.eval();
        foreach (var (p, _) in frozen) p.requires_grad = false;

        var batches = new MiniBatchIterator(data, o.BatchSize, normalization, o.Seed, validationIndices, shuffle: true, device: _device);
        var evalBatches = new MiniBatchIterator(data, o.BatchSize, normalization, o.Seed, validationIndices, shuffle: false, device: _device);
        var optimizer = optim.Adam(generator.parameters(), o.LearningRate, o.Beta1, o.Beta2, weight_decay: o.WeightDecay);
        var parallel = DataParallel.For(generator.parameters()); // docs/distributed.md §2: shards, gradient sum, rank 0 writes
        var targetRandom = new Random(SeedMix.Mix(o.Seed, 7, 0));
        var noise = new torch.Generator((ulong)SeedMix.Mix(o.Seed, 7, 1));
        using var mask = GumbelSoftmax.Mask(preset, _device);
        Dictionary<string, Tensor>? best = null;
        double temperature = o.InitialTemperature;
        int startEpoch = 0;
        try
        {
            if (checkpoint is not null) checkpoint.ConstraintIdentity = cost.Identity;
            if (checkpoint?.Restore(generator, optimizer, noise, history, o, data, validationIndices, batches.BatchesPerEpoch) is { } resumed)
            {
                (startEpoch, temperature, best) = (resumed.Epoch, resumed.Temperature, resumed.Best);
                // 1 + ExtraCostTargets target draws per step: replaying them puts the stream where the uninterrupted run has it.
                for (long i = 0; i < (long)startEpoch * batches.BatchesPerEpoch * (1 + o.ExtraCostTargets); i++) targetRandom.NextDouble();
            }
            for (int epoch = startEpoch; epoch < o.Epochs; epoch++)
            {
                temperature = GumbelSoftmax.Temperature(epoch, o.InitialTemperature, o.TemperatureDecay);
                var clock = Stopwatch.StartNew();
                generator.train();
                double sumLoss = 0, sumCe = 0, sumLc = 0;
                int steps = 0, total = batches.BatchesPerEpoch;
                foreach (var batch in batches.Epoch(epoch))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    using var b = batch;
                    // Row 0 is the step's target (cross-entropy and L_C); rows 1.. only add L_C samples (ExtraCostTargets).
                    var targets = new double[1 + o.ExtraCostTargets];
                    for (int i = 0; i < targets.Length; i++) targets[i] = low + targetRandom.NextDouble() * width;
                    double target = targets[0];
                    var prior = pool.PriorBatch(targets, _device);
                    var c = tensor(ConstraintNormalization.NormalizeAll(targets, low, high), device: _device);
                    var alpha = generator.call(prior, c);
                    var g = GumbelSoftmax.Noise(alpha.shape, noise, _device);
                    var m = GumbelSoftmax.Relax(alpha, temperature, mask, g, o.HardGumbel);
                    var relaxedCost = cost.Of(m);
                    var (images, labels, weight) = parallel.Shard(b);
                    var logits = _supernet.ForwardRelaxed(images, m[0]);
                    var ce = F.cross_entropy(logits, labels);
                    var (loss, lc) = GeneratorLoss.Compute(ce, relaxedCost, tensor(targets.Select(t => (float)t).ToArray(), device: _device), lambda, margin, o.OverBudgetPenalty);
                    double lossV = loss.item<float>(), ceV = ce.item<float>(), lcV = lc.item<float>();
                    if (!double.IsFinite(lossV))
                        throw new InvalidOperationException(
                            $"generator loss is {lossV} at epoch {epoch + 1}, step {steps + 1} (cross-entropy {ceV}, L_C {lcV}, λ {lambda:G4}, " +
                            $"target {target:F4} {cost.Unit}). Lower the learning rate or λ (--lambda), or check the supernet weights.");
                    optimizer.zero_grad();
                    loss.backward();
                    parallel.ReduceGradients(weight);
                    optimizer.step();
                    sumLoss += lossV; sumCe += ceV; sumLc += lcV; steps++;
                    progress?.Report(new TrainingProgress("generator", epoch + 1, o.Epochs, steps, total, new Dictionary<string, double>
                    {
                        ["loss"] = sumLoss / steps, ["ce"] = sumCe / steps, ["lc"] = sumLc / steps, ["tau"] = temperature,
                    }));
                }

                var metrics = Evaluate(model, margin, evalBatches) with
                {
                    Epoch = epoch + 1, Temperature = temperature, Loss = sumLoss / steps, CrossEntropy = sumCe / steps,
                    ConstraintLoss = sumLc / steps, Seconds = clock.Elapsed.TotalSeconds,
                };
                history.Add(metrics);
                // The selected epoch over the history so far is either the one selected before or this one.
                if (best is null || GeneratorSelection.Select(history, o.Selection, o.SelectionTolerance)!.Epoch == metrics.Epoch)
                {
                    if (best is not null) foreach (var t in best.Values) t.Dispose();
                    best = generator.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
                }
                if (parallel.IsWriter) checkpoint?.Save(epoch + 1, generator, optimizer, noise, history, o, data, validationIndices, batches.BatchesPerEpoch, temperature, best);
                progress?.Report(new TrainingProgress("generator", epoch + 1, o.Epochs, total, total, new Dictionary<string, double>
                {
                    ["loss"] = metrics.Loss, ["ce"] = metrics.CrossEntropy, ["lc"] = metrics.ConstraintLoss,
                    ["kendall"] = metrics.KendallTau, ["pearson"] = metrics.Pearson, ["mare"] = metrics.MeanAbsRelError,
                    ["evalLc"] = metrics.EvalConstraintLoss, ["top1Mid"] = metrics.MiddleTop1, ["top1"] = metrics.MeanTop1,
                    ["fitOk"] = metrics.WithinTolerance ? 1 : 0, ["tau"] = temperature,
                }, EpochDone: true));
            }
            if (best is not null)
            {
                using var _ = no_grad();
                generator.load_state_dict(best);
            }
        }
        catch
        {
            model.Dispose();
            throw;
        }
        finally
        {
            if (best is not null) foreach (var t in best.Values) t.Dispose();
            optimizer.Dispose();
            noise.Dispose();
            foreach (var (p, rg) in frozen) p.requires_grad = rg;
            _supernet.train(wasTraining);
        }
        generator.eval();
        return new ArchitectureGeneratorModel(preset, generator, pool, low, high, o, temperature, history, _device, cost);
    }

    private GeneratorEpochMetrics Evaluate(ArchitectureGeneratorModel model, double margin, MiniBatchIterator evalBatches)
    {
        var targets = ArchitectureGeneratorModel.EvenTargets(model.LowM, model.HighM, _options.EvaluationTargets);
        // Fit and accuracy of what generation delivers: the calibrated generation with a calibration of this epoch's
        // weights (docs/generator.md section 7); the raw fit is kept for the record.
        var calibration = model.MeasureCalibration();
        var generated = model.GenerateWith(targets, hardLimit: false, calibration);
        var rawFlops = model.GenerateWith(targets, hardLimit: false, calibration: null).Select(g => g.Cost).ToArray();
        // The generated cost in the constraint's unit: FLOPs, or the table's predicted ms for a latency generator.
        var flops = generated.Select(g => g.Cost).ToArray();
        double lcSum = 0;
        for (int i = 0; i < targets.Length; i++) lcSum += ConstraintLoss.Value(flops[i], targets[i], margin, _options.OverBudgetPenalty);
        double mare = Correlation.MeanAbsoluteRelativeError(targets, flops);

        var accTargets = ArchitectureGeneratorModel.EvenTargets(model.LowM, model.HighM, _options.AccuracyTargets);
        var top1 = Enumerable.Repeat(double.NaN, accTargets.Length).ToArray();
        if (_options.EvaluationBatches > 0)
        {
            // Each pick on the path the relaxed forward optimised (docs/generator.md section 1), with the frozen
            // supernet's own BN statistics (the ones the relaxed forward used during training).
            var paths = model.GenerateWith(accTargets, hardLimit: false, calibration).Select(g => g.Path!).ToArray();
            var correct = new long[paths.Length];
            long seen = 0;
            using var _ = no_grad();
            foreach (var batch in evalBatches.Epoch(0).Take(_options.EvaluationBatches))
            {
                using var scope = NewDisposeScope();
                using var b = batch;
                for (int n = 0; n < paths.Length; n++)
                    correct[n] += _supernet.ForwardPath(b.Images, paths[n]).argmax(1).eq(b.Labels).sum().item<long>();
                seen += b.Count;
            }
            if (seen > 0) for (int n = 0; n < paths.Length; n++) top1[n] = (double)correct[n] / seen;
        }
        return new GeneratorEpochMetrics
        {
            KendallTau = Correlation.KendallTau(targets, flops),
            Pearson = Correlation.Pearson(targets, flops),
            MeanAbsRelError = mare,
            RawMeanAbsRelError = Correlation.MeanAbsoluteRelativeError(targets, rawFlops),
            CalibrationLevels = calibration.Levels,
            EvalConstraintLoss = lcSum,
            MiddleTop1 = top1[top1.Length / 2],
            MeanTop1 = top1.Average(),
            AccuracyTargetsM = accTargets,
            Top1PerTarget = top1,
            WithinTolerance = mare <= _options.SelectionTolerance + 1e-12,
            TargetsM = targets,
            GeneratedM = flops,
        };
    }
}
