using Sgnas.Onnx;
using TorchSharp.Modules;
using Xunit.Abstractions;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace Sgnas.MLNet.Tests.Onnx;

/// <summary>One ONNX-vs-TorchSharp parity test per operator family the exporters use (batch 1 and 3).</summary>
public class OperatorParityTests
{
    private readonly ITestOutputHelper _log;

    public OperatorParityTests(ITestOutputHelper log) => _log = log;

    private void AssertClose(double diff) => Assert.InRange(diff, 0, OrtParity.Tolerance);

    [Fact]
    public void ConvBatchNormRelu6_FoldedBatchNormMatches()
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        random.manual_seed(1);
        var conv = nn.Conv2d(3, 8, 3, stride: 2, padding: 1, bias: false);
        var bn = OrtParity.Bn(8);
        AssertClose(OrtParity.MaxDifference(
            x => F.relu6(bn.call(conv.call(x))),
            (b, x) => b.Relu6(b.Conv2d(x, conv, bn, "stem")),
            new long[] { 3, 17, 17 }, _log));
    }

    [Fact]
    public void ConvWithBiasAndBatchNorm_BiasIsFoldedToo()
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        random.manual_seed(2);
        var conv = nn.Conv2d(4, 6, 1, bias: true);
        var bn = OrtParity.Bn(6);
        AssertClose(OrtParity.MaxDifference(
            x => bn.call(conv.call(x)),
            (b, x) => b.Conv2d(x, conv, bn),
            new long[] { 4, 5, 5 }, _log));
    }

    [Theory]
    [InlineData(3, 1)]
    [InlineData(5, 2)]
    public void DepthwiseConvWithGroups(int kernel, int stride)
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        random.manual_seed(3);
        var dw = nn.Conv2d(8, 8, kernel, stride: stride, padding: kernel / 2, groups: 8, bias: false);
        var bn = OrtParity.Bn(8);
        AssertClose(OrtParity.MaxDifference(
            x => F.relu(bn.call(dw.call(x))),
            (b, x) => b.Relu(b.Conv2d(x, dw, bn, "dw")),
            new long[] { 8, 15, 15 }, _log));
    }

    /// <summary>MixConv: channel groups with kernels 3, 5, 7, concatenated, one BN over the concatenation.</summary>
    [Theory]
    [InlineData(1, false)]
    [InlineData(2, false)]
    [InlineData(1, true)]
    [InlineData(2, true)]
    public void MixedDepthwiseKernels_SplitConcatOrEmbedded(int stride, bool embedInLargestKernel)
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        random.manual_seed(4);
        int[] kernels = { 3, 5, 7 };
        const int group = 4;
        var convs = kernels.Select(k => nn.Conv2d(group, group, k, stride: stride, padding: k / 2, groups: group, bias: false)).ToArray();
        var bn = OrtParity.Bn(group * kernels.Length);

        Tensor Forward(Tensor x)
        {
            var parts = x.split(group, 1);
            return F.relu6(bn.call(cat(parts.Select((p, j) => convs[j].call(p)).ToArray(), 1)));
        }

        string Export(OnnxGraphBuilder b, string x)
        {
            var bnParams = TorchParameters.BatchNorm(bn);
            if (embedInLargestKernel)
            {
                // One depthwise conv with the largest kernel; BN folded over all channels at once.
                long kMax = kernels.Max();
                var weight = convs.SelectMany(c => KernelEmbedding.CenterPad(TorchParameters.ToFloatArray(c.weight), c.weight.shape, kMax)).ToArray();
                long[] shape = { group * kernels.Length, 1, kMax, kMax };
                var (w, bias) = BatchNormFolding.FoldIntoConv(weight, shape, null, bnParams);
                return b.Relu6(b.Conv(x, w, shape, bias, new long[] { stride, stride }, new long[] { kMax / 2, kMax / 2 }, group * kernels.Length));
            }
            string[] parts = b.Split(x, 1, Enumerable.Repeat((long)group, kernels.Length).ToArray());
            var outs = parts.Select((p, j) => b.Conv2d(p, convs[j], bnParams.Slice(j * group, group), $"mix{j}")).ToArray();
            return b.Relu6(b.Concat(1, outs));
        }

        AssertClose(OrtParity.MaxDifference(Forward, Export, new long[] { group * kernels.Length, 16, 16 }, _log));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void SqueezeExcitation_HardSigmoidOrSigmoid(bool hardSigmoid)
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        random.manual_seed(5);
        var reduce = nn.Conv2d(16, 4, 1);
        var expand = nn.Conv2d(4, 16, 1);

        Tensor Forward(Tensor x)
        {
            var s = expand.call(F.relu(reduce.call(F.adaptive_avg_pool2d(x, 1))));
            return x * (hardSigmoid ? F.hardsigmoid(s) : sigmoid(s));
        }

        string Export(OnnxGraphBuilder b, string x)
        {
            string s = b.Conv2d(b.Relu(b.Conv2d(b.GlobalAveragePool(x), reduce, name: "se.reduce")), expand, name: "se.expand");
            return b.Mul(x, hardSigmoid ? b.HardSigmoid(s) : b.Sigmoid(s));
        }

        AssertClose(OrtParity.MaxDifference(Forward, Export, new long[] { 16, 7, 7 }, _log));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void HardSwish_AsOperatorOrAsHardSigmoidTimesInput(bool useHardSwishOperator)
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        random.manual_seed(6);
        var conv = nn.Conv2d(3, 8, 3, padding: 1, bias: false);
        var bn = OrtParity.Bn(8);
        AssertClose(OrtParity.MaxDifference(
            // h-swish as the SGNAS-A/B/C papers write it: x·relu6(x + 3)/6, scaled so values reach both clip bounds.
            x => { var y = bn.call(conv.call(x)) * 4; return y * F.relu6(y + 3) / 6; },
            (b, x) =>
            {
                string y = b.Mul(b.Conv2d(x, conv, bn), b.Scalar(4f));
                return useHardSwishOperator ? b.HardSwish(y) : b.Mul(y, b.HardSigmoid(y));
            },
            new long[] { 3, 9, 9 }, _log));
    }

    [Fact]
    public void ResidualAdd()
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        random.manual_seed(7);
        var conv = nn.Conv2d(8, 8, 3, padding: 1, bias: false);
        var bn = OrtParity.Bn(8);
        AssertClose(OrtParity.MaxDifference(
            x => x + bn.call(conv.call(x)),
            (b, x) => b.Add(x, b.Conv2d(x, conv, bn)),
            new long[] { 8, 6, 6 }, _log));
    }

    [Fact]
    public void ClassifierHead_GlobalPoolFlattenLinear()
    {
        Sgnas.Runtime.TorchNative.EnsureLoaded();
        random.manual_seed(8);
        var fc = nn.Linear(16, 10);
        AssertClose(OrtParity.MaxDifference(
            x => fc.call(F.adaptive_avg_pool2d(x, 1).flatten(1)),
            (b, x) => b.Linear(b.Flatten(b.GlobalAveragePool(x)), fc, "classifier"),
            new long[] { 16, 5, 5 }, _log));
    }

    /// <summary>ReduceMean's axes moved from attribute to input in opset 18; both encodings must run.</summary>
    [Theory]
    [InlineData(17)]
    [InlineData(18)]
    public void ReduceMean_AttributeOrInputAxes(int opset)
    {
        AssertClose(OrtParity.MaxDifference(
            x => x.mean(new long[] { 2, 3 }, keepdim: false),
            (b, x) => b.ReduceMean(x, new long[] { 2, 3 }, keepDims: false),
            new long[] { 6, 4, 5 }, _log, opset));
    }

    [Fact]
    public void SliceAndIdentity()
    {
        AssertClose(OrtParity.MaxDifference(
            x => x.narrow(1, 2, 3).narrow(3, 1, 4),
            (b, x) => b.Identity(b.Slice(x, new long[] { 2, 1 }, new long[] { 5, 5 }, new long[] { 1, 3 })),
            new long[] { 6, 4, 7 }, _log));
    }

    [Fact]
    public void Clip_ArbitraryBoundsAndSharedConstants()
    {
        AssertClose(OrtParity.MaxDifference(
            x => x.clamp(-0.5, 0.75) + x.clamp(-0.5, 0.75),
            (b, x) =>
            {
                string a = b.Clip(x, -0.5f, 0.75f);
                int before = b.InitializerCount;
                string c = b.Clip(x, -0.5f, 0.75f);
                Assert.Equal(before, b.InitializerCount); // the bounds are reused, not duplicated
                return b.Add(a, c);
            },
            new long[] { 2, 3, 3 }, _log));
    }
}
