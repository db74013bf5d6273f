using Sgnas.Data;
using Sgnas.Modules;
using Sgnas.Search;
using Sgnas.SearchSpace;
using TorchSharp;

namespace Sgnas.Core.Tests.Search;

/// <summary>Tiny preset, a synthetic 64-image dataset and an evaluator on a fresh supernet.</summary>
internal static class SearchFixtures
{
    public static SearchSpacePreset Tiny() => new()
    {
        Name = "tiny", InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(4, 1), new LayerSpec(6, 2) }, HeadChannels = 8,
    };

    /// <summary>64 images of 1×8×8 whose class shifts the brightness, so a net can tell them apart a little.</summary>
    public static ImageDataset Images(int count = 64, int seed = 3)
    {
        var r = new Random(seed);
        var labels = Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        var pixels = new byte[count * 64];
        for (int i = 0; i < count; i++)
            for (int p = 0; p < 64; p++) pixels[i * 64 + p] = (byte)Math.Clamp(r.Next(0, 160) + 40 * labels[i], 0, 255);
        return new ImageDataset(pixels, 1, 8, 8, labels, 3);
    }

    public static CandidateEvaluator Evaluator(Supernet net, int recalibration = 32, int validation = 24, int batch = 16)
    {
        var data = Images();
        var split = DataSplit.TrainValidation(data, 0.375, seed: 0);
        var options = new CandidateEvaluatorOptions { RecalibrationImages = recalibration, ValidationImages = validation, BatchSize = batch };
        return new CandidateEvaluator(net, EvaluationData.Create(data, split.Train, split.Validation, ChannelNormalization.Identity(1), options, torch.CPU));
    }

    public static Supernet Net(int seed = 1)
    {
        torch.manual_seed(seed);
        var net = new Supernet(Tiny());
        net.eval();
        return net;
    }
}
