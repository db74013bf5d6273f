using Sgnas.SearchSpace;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Sgnas.Modules;

/// <summary>
/// Copies the weights one single path of a <see cref="Supernet"/> uses into a standalone <see cref="ChildNetwork"/>
/// (weight inheritance, as one-shot NAS evaluates candidates): the first e·c_in expand channels, the depthwise conv
/// and BN of each active sub-block's kernel, the first e·c_in input channels of the projection, and the shadow BN of
/// rate e. In eval mode the child computes exactly what <see cref="Supernet.Forward"/> computes for that path, so it
/// can be exported to ONNX and scored like any retrained network.
/// </summary>
public static class SubnetExtraction
{
    /// <summary>Builds the child of <paramref name="arch"/> (kernels in sub-block order) with inherited weights.</summary>
    public static ChildNetwork Extract(Supernet supernet, Architecture arch)
    {
        arch.Validate(supernet.Preset);
        // The child is canonical (sorted kernels); keep the supernet's sub-block order by building from the
        // given order explicitly, so that group j of the child is sub-block j of the supernet.
        var child = new ChildNetwork(supernet.Preset, arch, new ChildNetworkOptions(), canonicalize: false);
        var device = supernet.parameters().First().device;
        child.to(device);
        using var _ = no_grad();
        CopyStemAndHead(supernet, child);
        for (int i = 0; i < arch.Layers.Count; i++)
            CopyBlock(supernet.Blocks[i], child.Blocks[i], arch.Layers[i], supernet.Preset);
        child.eval();
        return child;
    }

    private static void CopyStemAndHead(Supernet s, ChildNetwork c)
    {
        var src = s.StemModule.Sequence; var dst = c.StemModule.Sequence;
        for (int i = 0; i < src.Count; i++) { CopyConv(src[i].Conv, dst[i].Conv); CopyBn(src[i].Bn, dst[i].Bn); }
        CopyConv(s.HeadModule.ConvBn.Conv, c.HeadModule.ConvBn.Conv);
        CopyBn(s.HeadModule.ConvBn.Bn, c.HeadModule.ConvBn.Bn);
        c.HeadModule.Classifier.weight!.copy_(s.HeadModule.Classifier.weight!);
        c.HeadModule.Classifier.bias!.copy_(s.HeadModule.Classifier.bias!);
    }

    private static void CopyBlock(UnifiedBlock u, ChildBlock b, LayerChoice choice, SearchSpacePreset p)
    {
        int cIn = u.Geometry.InChannels, active = choice.Expansion * cIn;
        var (expand, expandBn) = u.ExpandConvBn;
        b.Expand.Conv.weight!.copy_(expand.weight!.narrow(0, 0, active));
        CopyBn(expandBn, b.Expand.Bn, 0, active);
        var (dwConvs, dwBn) = b.Depthwise;
        for (int j = 0; j < choice.Expansion; j++)
        {
            var (conv, bn) = u.Depthwise(j, Architecture.IndexOfKernel(p.Kernels, choice.Kernels[j]));
            dwConvs[j].weight!.copy_(conv.weight!);
            dwBn.weight!.narrow(0, j * cIn, cIn).copy_(bn.weight!);
            dwBn.bias!.narrow(0, j * cIn, cIn).copy_(bn.bias!);
            dwBn.running_mean!.narrow(0, j * cIn, cIn).copy_(bn.running_mean!);
            dwBn.running_var!.narrow(0, j * cIn, cIn).copy_(bn.running_var!);
        }
        b.Project.Conv.weight!.copy_(u.ProjectConv.weight!.narrow(1, 0, active));
        CopyBn(u.ShadowBN.For(choice.Expansion), b.Project.Bn);
    }

    private static void CopyConv(Conv2d src, Conv2d dst)
    {
        dst.weight!.copy_(src.weight!);
        if (src.bias is not null) dst.bias!.copy_(src.bias);
    }

    private static void CopyBn(BatchNorm2d src, BatchNorm2d dst, long start = 0, long count = -1)
    {
        if (count < 0) count = dst.weight!.shape[0];
        dst.weight!.copy_(src.weight!.narrow(0, start, count));
        dst.bias!.copy_(src.bias!.narrow(0, start, count));
        dst.running_mean!.copy_(src.running_mean!.narrow(0, start, count));
        dst.running_var!.copy_(src.running_var!.narrow(0, start, count));
        dst.eps = src.eps;
    }
}
