using Sgnas.Modules;
using Sgnas.Runtime;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.Runtime;

public sealed class HeldScalarsTests
{
    [Fact]
    public void IncrementAddsOneToAnInt64Counter()
    {
        using var counter = tensor(41L);
        HeldScalars.Increment(counter);
        HeldScalars.Increment(counter);
        Assert.Equal(43L, counter.item<long>());
        Assert.Equal(ScalarType.Int64, counter.dtype);
    }

    [Fact]
    public void EveryBatchNormOfATrainingForwardCountsOneBatch()
    {
        // The unified block's fused BN path updates each sub-block's BN itself (HeldScalars.Increment), as
        // torch.nn.BatchNorm2d would: after two training forwards every BN that took part has counted two batches.
        var preset = SearchSpacePreset.Load("fashion-small");
        using var net = new Supernet(preset);
        net.train();
        var path = Architecture.Largest(preset);
        using var x = randn(4, preset.InputChannels, preset.InputSize, preset.InputSize);
        using (var scope = NewDisposeScope()) { net.Forward(x, path); net.Forward(x, path); }
        var counts = net.named_buffers().Where(b => b.name.EndsWith("num_batches_tracked", StringComparison.Ordinal))
            .Select(b => b.buffer.item<long>()).ToArray();
        Assert.NotEmpty(counts);
        Assert.Contains(2L, counts);
        Assert.All(counts, c => Assert.True(c is 0 or 2, $"a BN counted {c} batches after two forwards"));
    }
}
