using System.IO.Compression;
using System.Text.Json;
using Sgnas.Core.Tests.Modules;
using Sgnas.IO;
using Sgnas.Modules;
using Sgnas.SearchSpace;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests.IO;

/// <summary>
/// Weights interop with PyTorch: supernet and child weights go out as safetensors and as torch.save files and come
/// back bit-identical; the files have the layouts PyTorch reads; a mismatching file is refused.
/// </summary>
public sealed class WeightsInteropTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sgnas-weights-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertSameState(nn.Module expected, nn.Module actual)
    {
        var a = expected.state_dict();
        var b = actual.state_dict();
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var (name, t) in a)
        {
            Assert.Equal(t.shape, b[name].shape);
            Assert.True(t.equal(b[name]).all().item<bool>(), $"{name} differs");
        }
    }

    /// <summary>Trains BN statistics a little so that buffers are not their initial values.</summary>
    private static void Perturb(nn.Module net, Action<Tensor> forward, int channels, int size)
    {
        net.train();
        using (no_grad())
        {
            foreach (var p in net.parameters()) p.add_(randn_like(p) * 0.1);
            using var x = randn(4, channels, size, size);
            forward(x);
        }
        net.eval();
    }

    [Theory]
    [InlineData("supernet.safetensors")]
    [InlineData("supernet.pt")]
    public void SupernetRoundTripsBitIdentically(string file)
    {
        manual_seed(3);
        var p = SupernetTests.Tiny();
        using var net = new Supernet(p);
        var arch = Architecture.Largest(p);
        Perturb(net, x => net.Forward(x, arch).Dispose(), 1, 8);
        string path = Path.Combine(_dir, file);
        WeightsInterop.Export(net, path);

        manual_seed(99);   // a differently initialised target
        using var back = WeightsInterop.ImportSupernet(p, path);
        AssertSameState(net, back);
        back.eval();
        using var x = randn(2, 1, 8, 8);
        using var y1 = net.Forward(x, arch);
        using var y2 = back.Forward(x, arch);
        Assert.True(y1.equal(y2).all().item<bool>());
    }

    [Fact]
    public void ChildRoundTripsAndTheFilesHaveThePyTorchLayouts()
    {
        manual_seed(5);
        var p = SupernetTests.Tiny();
        var arch = ArchitectureCodec.Parse("e2:3,5|e3:3,5,7", p);
        using var net = new ChildNetwork(p, arch);
        Perturb(net, x => net.call(x).Dispose(), 1, 8);
        string st = Path.Combine(_dir, "child.safetensors"), pt = Path.Combine(_dir, "child.pt");
        WeightsInterop.Export(net, st);
        WeightsInterop.Export(net, pt);
        using (var a = WeightsInterop.ImportChild(p, arch, st)) AssertSameState(net, a);
        using (var b = WeightsInterop.ImportChild(p, arch, pt)) AssertSameState(net, b);

        // safetensors: u64 little-endian header length, then a JSON header naming every tensor with dtype and shape
        // (what safetensors.torch.load_file reads).
        var bytes = File.ReadAllBytes(st);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var state = net.state_dict();
        foreach (var (name, t) in state)
        {
            var entry = header.RootElement.GetProperty(name);
            Assert.Equal(t.shape, entry.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray());
            Assert.Contains(entry.GetProperty("dtype").GetString(), new[] { "F32", "I64" });
        }
        // torch.save: a zip with the pickled dict in <archive>/data.pkl and one storage file per tensor in <archive>/data/.
        using var zip = ZipFile.OpenRead(pt);
        Assert.Contains(zip.Entries, e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal));
        Assert.True(zip.Entries.Count(e => e.FullName.Contains("/data/", StringComparison.Ordinal)) >= 1);
    }

    [Fact]
    public void AFileOfAnotherArchitectureIsRefused()
    {
        var p = SupernetTests.Tiny();
        using var small = new ChildNetwork(p, ArchitectureCodec.Parse("e2:3,5|e3:3,5,7", p));
        string path = Path.Combine(_dir, "small.safetensors");
        WeightsInterop.Export(small, path);
        Assert.ThrowsAny<Exception>(() => WeightsInterop.ImportChild(p, ArchitectureCodec.Parse("e4:3,5,7,7|e6:3,3,5,5,7,7", p), path));
        var e = Assert.Throws<ArgumentException>(() => WeightsInterop.Export(small, Path.Combine(_dir, "x.onnx")));
        Assert.Contains(".safetensors", e.Message);
    }
}
