using Sgnas.Data;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Generator;

internal static class GeneratorTestData
{
    /// <summary>Three tiny layers on 8×8 inputs: a FLOPs range wide enough to rank, fast to run.</summary>
    public static SearchSpacePreset Tiny(string name = "tiny-gen", int head = 16) => new()
    {
        Name = name, InputChannels = 1, InputSize = 8, NumClasses = 3, StemChannels = 4, StemStride = 1,
        FirstBlockChannels = 4, Layers = new[] { new LayerSpec(8, 1), new LayerSpec(8, 2), new LayerSpec(12, 1) }, HeadChannels = head,
        Mean = new[] { 0.5f }, Std = new[] { 0.25f },
    };

    /// <summary>Images whose class is visible (bright top / bright left / dark), so the supernet can learn a little.</summary>
    public static ImageDataset Images(int count, int seed)
    {
        var r = new Random(seed);
        var pixels = new byte[count * 64];
        var labels = new int[count];
        for (int n = 0; n < count; n++)
        {
            int label = r.Next(3);
            labels[n] = label;
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                {
                    bool on = label == 0 ? y < 4 : label == 1 ? x < 4 : false;
                    pixels[n * 64 + y * 8 + x] = (byte)Math.Clamp((on ? 200 : 40) + r.Next(-30, 30), 0, 255);
                }
        }
        return new ImageDataset(pixels, 1, 8, 8, labels, 3);
    }

    /// <summary>A supernet briefly trained with uniform single paths so BN statistics are not the defaults.</summary>
    public static Supernet TrainedSupernet(SearchSpacePreset p, ImageDataset data, int steps = 20, int seed = 1)
    {
        torch.manual_seed(seed);
        var net = new Supernet(p);
        net.train();
        var sampler = new ArchitectureSampler(p, seed);
        using var opt = optim.SGD(net.parameters(), 0.05, momentum: 0.9);
        var it = new MiniBatchIterator(data, 32, new ChannelNormalization(new[] { 0.5f }, new[] { 0.25f }), seed);
        int s = 0;
        while (s < steps)
            foreach (var b in it.Epoch(s))
            {
                using var scope = NewDisposeScope();
                using var batch = b;
                var loss = nn.functional.cross_entropy(net.Forward(batch.Images, sampler.Sample(canonical: false)), batch.Labels);
                opt.zero_grad(); loss.backward(); opt.step();
                if (++s >= steps) break;
            }
        net.eval();
        return net;
    }

    public static ChannelNormalization Norm => new(new[] { 0.5f }, new[] { 0.25f });
}
