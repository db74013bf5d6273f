using System.Diagnostics;
using Sgnas.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Sgnas.Core.Tests;

public class TorchLoadTests
{
    [Fact]
    public void TensorAndConvolutionRunInProcess()
    {
        TorchNative.EnsureLoaded();
        using var x = ones(1, 1, 5, 5);
        using var w = ones(1, 1, 3, 3);
        using var y = nn.functional.conv2d(x, w, padding: new long[] { 1, 1 });
        Assert.Equal(9f, y[0, 0, 2, 2].item<float>());
        Assert.Equal(4f, y[0, 0, 0, 0].item<float>());
    }

    [Fact]
    public void LoadingSwitchesOffNnpackOnLinux()
    {
        // The quiet-runs fix (issue 10) calls libtorch's exported at::Context::setUserEnabledNNPACK; if the export
        // moved in a libtorch update, this fails before users see thousands of NNPACK warnings again.
        TorchNative.EnsureLoaded();
        if (OperatingSystem.IsLinux()) Assert.True(TorchNative.NnpackDisabled);
        // Convolutions without gradient (the path NNPACK served) still compute the same values.
        using var _ = no_grad();
        using var x = ones(16, 2, 6, 6);
        using var w = ones(3, 2, 3, 3);
        using var y = nn.functional.conv2d(x, w, padding: new long[] { 1, 1 });
        Assert.Equal(18f, y[15, 2, 3, 3].item<float>());
        Assert.Equal(8f, y[0, 0, 0, 0].item<float>());
    }

    [Fact]
    public void UnknownDeviceIsRejectedClearly()
    {
        var e = Assert.Throws<ArgumentException>(() => DeviceSelector.Resolve("tpu"));
        Assert.Contains("tpu", e.Message);
    }

    [Fact]
    public void CudaOnCpuBuildSaysWhy()
    {
        if (cuda.is_available()) return;
        var e = Assert.Throws<InvalidOperationException>(() => DeviceSelector.Resolve("cuda:0"));
        Assert.Contains("CUDA is not available", e.Message);
    }
}
