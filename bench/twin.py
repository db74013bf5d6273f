#!/usr/bin/env python3
"""PyTorch twin of Sgnas.MLNet's training steps, for the side-by-side benchmark in bench/run.sh (issue 10).

Mirrors, op for op, the modules in src/Sgnas.Core/Modules/*.cs and the preset JSON (fashion-small by default):
  child      standalone ChildNetwork step: forward, cross-entropy, backward, SGD momentum (ChildBlock.forward)
  path       supernet single-path step (UnifiedBlock.Forward: narrowed expand/project weights, the depthwise BNs
             of the active sub-blocks run as one batch norm over concatenated parameters, shadow BN of the rate)
  fair       the fair step: K single-path forward/backward passes on one batch, one SGD update
  generator  the generator's relaxed step: G(prior, c) -> Gumbel-softmax -> Eq. 9 cost -> frozen supernet
             ForwardRelaxed (18 depthwise convs per layer, shadow BNs mixed by p(e)) -> CE + lambda*L_C -> Adam on G
Variants: NCHW (contiguous) and channels-last (model and input in torch.channels_last).
Prints one JSON object: per workload, the median wall and process-CPU milliseconds per step.
Not a test; run through bench/run.sh with Debian's python3-torch (/usr/bin/python3).
"""
import argparse
import json
import math
import os
import re
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def load_preset(path):
    text = open(path).read()
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)  # the presets carry // comments
    return json.loads(text)


def geometry(p):
    size = (p["inputSize"] - 1) // p["stemStride"] + 1
    c_in = p["firstBlockChannels"]
    out = []
    for layer in p["layers"]:
        s = layer["stride"]
        out_size = (size - 1) // s + 1
        out.append((c_in, layer["outChannels"], s))
        size, c_in = out_size, layer["outChannels"]
    return out


def parse_arch(text):
    layers = []
    for part in text.split("|"):
        e, ks = part.split(":")
        kernels = [int(k) for k in ks.split(",")]
        assert int(e[1:]) == len(kernels), part
        layers.append(kernels)
    return layers


class Stem(nn.Module):
    def __init__(self, p):
        super().__init__()
        c = p["stemChannels"]
        self.conv = nn.Conv2d(p["inputChannels"], c, 3, stride=p["stemStride"], padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.first_dw = nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False)
        self.first_dw_bn = nn.BatchNorm2d(c)
        self.first_pw = nn.Conv2d(c, p["firstBlockChannels"], 1, bias=False)
        self.first_pw_bn = nn.BatchNorm2d(p["firstBlockChannels"])

    def forward(self, x):
        h = F.relu6(self.bn(self.conv(x)))
        h = F.relu6(self.first_dw_bn(self.first_dw(h)))
        return self.first_pw_bn(self.first_pw(h))


class Head(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.conv = nn.Conv2d(p["layers"][-1]["outChannels"], p["headChannels"], 1, bias=False)
        self.bn = nn.BatchNorm2d(p["headChannels"])
        self.dropout = nn.Dropout(0.0)
        self.classifier = nn.Linear(p["headChannels"], p["numClasses"])

    def forward(self, x):
        h = F.relu6(self.bn(self.conv(x)))
        h = h.mean((2, 3))
        return self.classifier(self.dropout(h))


class ChildBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, kernels):
        super().__init__()
        self.c, self.residual = c_in, stride == 1 and c_in == c_out
        wide = c_in * len(kernels)
        self.expand = nn.Conv2d(c_in, wide, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(wide)
        self.dw = nn.ModuleList(nn.Conv2d(c_in, c_in, k, stride=stride, padding=k // 2, groups=c_in, bias=False) for k in kernels)
        self.dw_bn = nn.BatchNorm2d(wide)
        self.project = nn.Conv2d(wide, c_out, 1, bias=False)
        self.project_bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        h = F.relu6(self.expand_bn(self.expand(x)))
        groups = h.split(self.c, 1)
        outs = [conv(g) for conv, g in zip(self.dw, groups)]
        h = F.relu6(self.dw_bn(outs[0] if len(outs) == 1 else torch.cat(outs, 1)))
        y = self.project_bn(self.project(h))
        return y + x if self.residual else y


class ChildNetwork(nn.Module):
    def __init__(self, p, arch):
        super().__init__()
        self.stem = Stem(p)
        self.blocks = nn.ModuleList(ChildBlock(ci, co, s, sorted(ks)) for (ci, co, s), ks in zip(geometry(p), arch))
        self.head = Head(p)

    def forward(self, x):
        h = self.stem(x)
        for b in self.blocks:
            h = b(h)
        return self.head(h)


class UnifiedBlock(nn.Module):
    def __init__(self, c_in, c_out, stride, p):
        super().__init__()
        self.c, self.residual = c_in, stride == 1 and c_in == c_out
        self.kernels, self.sub, self.emin = p["kernels"], p["maxExpansion"], p["minExpansion"]
        wide = c_in * self.sub
        self.expand = nn.Conv2d(c_in, wide, 1, bias=False)
        self.expand_bn = nn.BatchNorm2d(wide)
        self.dw = nn.ModuleList()
        self.dw_bn = nn.ModuleList()
        for _ in range(self.sub):
            for k in self.kernels:
                self.dw.append(nn.Conv2d(c_in, c_in, k, stride=stride, padding=k // 2, groups=c_in, bias=False))
                self.dw_bn.append(nn.BatchNorm2d(c_in))
        self.project = nn.Conv2d(wide, c_out, 1, bias=False)
        self.sbn = nn.ModuleList(nn.BatchNorm2d(c_out) for _ in range(self.emin, self.sub + 1))

    def forward(self, x, kernels):
        # UnifiedBlock.Forward (single path): only the active e*c channels are expanded and projected.
        c, e = self.c, len(kernels)
        active = e * c
        bn = self.expand_bn
        h = F.conv2d(x, self.expand.weight.narrow(0, 0, active))
        h = F.batch_norm(h, bn.running_mean.narrow(0, 0, active), bn.running_var.narrow(0, 0, active),
                         bn.weight.narrow(0, 0, active), bn.bias.narrow(0, 0, active), self.training, bn.momentum, bn.eps)
        h = F.relu6(h)
        groups = h.split(c, 1)
        K = len(self.kernels)
        convs, bns = [], []
        for j in range(e):
            o = self.kernels.index(kernels[j])
            convs.append(self.dw[j * K + o](groups[j]))
            bns.append(self.dw_bn[j * K + o])
        cat = convs[0] if e == 1 else torch.cat(convs, 1)
        rm = torch.cat([b.running_mean for b in bns])
        rv = torch.cat([b.running_var for b in bns])
        d = F.batch_norm(cat, rm, rv, torch.cat([b.weight for b in bns]), torch.cat([b.bias for b in bns]),
                         self.training, bns[0].momentum, bns[0].eps)
        if self.training:
            with torch.no_grad():
                for j, b in enumerate(bns):
                    b.running_mean.copy_(rm.narrow(0, j * c, c))
                    b.running_var.copy_(rv.narrow(0, j * c, c))
                    b.num_batches_tracked.add_(1)
        d = F.relu6(d)
        y = F.conv2d(d, self.project.weight.narrow(1, 0, active))
        y = self.sbn[e - self.emin](y)
        return y + x if self.residual else y

    def forward_relaxed(self, x, m):
        # UnifiedBlock.ForwardRelaxed: sum_k m[j,k] * relu6(bn(dw(x_j))), shadow BNs mixed by p(e).
        c, K = self.c, len(self.kernels)
        h = F.relu6(self.expand_bn(self.expand(x)))
        groups = h.split(c, 1)
        outs = []
        for j in range(self.sub):
            s = None
            for k in range(K):
                t = F.relu6(self.dw_bn[j * K + k](self.dw[j * K + k](groups[j]))) * m[j, k]
                s = t if s is None else s + t
            outs.append(s)
        y = self.project(torch.cat(outs, 1))
        probs = rate_probabilities(m.select(1, K), self.emin, self.sub)
        acc = None
        for i, b in enumerate(self.sbn):
            t = b(y) * probs[i]
            acc = t if acc is None else acc + t
        return acc + x if self.residual else acc


def rate_probabilities(skip, emin, emax):
    zero = torch.zeros(1, dtype=skip.dtype).squeeze()
    dist = [torch.ones(1, dtype=skip.dtype).squeeze()]
    for j in range(skip.shape[0]):
        active = 1 - skip[j]
        nxt = []
        for n in range(len(dist) + 1):
            stay = dist[n] * skip[j] if n < len(dist) else zero
            grow = dist[n - 1] * active if n > 0 else zero
            nxt.append(stay + grow)
        dist = nxt
    return torch.stack(dist[emin:emax + 1])


class Supernet(nn.Module):
    def __init__(self, p):
        super().__init__()
        self.stem = Stem(p)
        self.blocks = nn.ModuleList(UnifiedBlock(ci, co, s, p) for ci, co, s in geometry(p))
        self.head = Head(p)

    def forward(self, x, arch):
        h = self.stem(x)
        for b, ks in zip(self.blocks, arch):
            h = b(h, ks)
        return self.head(h)

    def forward_relaxed(self, x, m):
        h = self.stem(x)
        for i, b in enumerate(self.blocks):
            h = b.forward_relaxed(h, m[i])
        return self.head(h)


class Generator(nn.Module):
    """ArchitectureGenerator: 3x3 convs, 32 channels, constraint head (3), prior head (2), head, body (3), tail."""

    def __init__(self, layers, width, hc=10, n=32, body=3):
        super().__init__()
        conv = lambda ci, co: nn.Conv2d(ci, co, 3, padding=1, bias=False)
        self.L, self.W, self.hc = layers, width, hc
        self.hc_head = nn.Sequential(conv(hc, n), nn.ReLU(), conv(n, n), nn.ReLU(), conv(n, n), nn.ReLU())
        self.bb_head = nn.Sequential(conv(1, n), nn.ReLU(), conv(n, n), nn.ReLU())
        self.head = nn.Sequential(conv(n, n), nn.ReLU())
        self.body = nn.Sequential(*[m for _ in range(body) for m in (conv(n, n), nn.ReLU())])
        self.tail = nn.Conv2d(n, 1, 3, padding=1, bias=True)

    def forward(self, prior, c):
        n = prior.shape[0]
        b = prior.reshape(n, 1, self.L, self.W)
        hcin = c.reshape(n, 1, 1, 1).expand(n, self.hc, self.L, self.W)
        s = self.hc_head(hcin) + self.bb_head(b)
        y = self.body(self.head(s))
        return self.tail(y + s)


def cost_table(p):
    """Eq. 9 lookup table (MACs in M): depthwise option k on one channel group, the two pointwise convs."""
    size = (p["inputSize"] - 1) // p["stemStride"] + 1
    L, O = len(p["layers"]), len(p["kernels"]) + 1
    dw = torch.zeros(1, L, 1, O)
    pw = torch.zeros(1, L)
    for i, (ci, co, s) in enumerate(geometry(p)):
        out = (size - 1) // s + 1
        for k, kern in enumerate(p["kernels"]):
            dw[0, i, 0, k] = out * out * kern * kern * ci / 1e6
        pw[0, i] = (size * size * ci * ci * p["maxExpansion"] + out * out * ci * p["maxExpansion"] * co) / 1e6
        size = out
    return dw, pw


def median(xs):
    return statistics.median(xs)


def timed(step, warmup, steps):
    for _ in range(warmup):
        step()
    wall, cpu = [], []
    for _ in range(steps):
        w0, c0 = time.perf_counter(), time.process_time()
        step()
        wall.append((time.perf_counter() - w0) * 1e3)
        cpu.append((time.process_time() - c0) * 1e3)
    return {"wallMs": median(wall), "cpuMs": median(cpu), "steps": steps}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--preset", required=True, help="preset JSON (src/Sgnas.Core/SearchSpace/Presets/*.json)")
    ap.add_argument("--arch", required=True, help="architecture of the child and single-path steps (codec text)")
    ap.add_argument("--fair-paths", required=True, help="the K paths of the fair step, ';'-separated")
    ap.add_argument("--variant", choices=["nchw", "channels-last"], default="nchw")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--workloads", default="child,path,fair,generator")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    if hasattr(torch.backends, "nnpack"):  # as the project does at load (src/Sgnas.Core/Runtime/TorchNative.cs)
        torch.backends.nnpack.set_flags(False)
    torch.manual_seed(0)
    p = load_preset(a.preset)
    fmt = torch.channels_last if a.variant == "channels-last" else torch.contiguous_format
    x = torch.randn(a.batch_size, p["inputChannels"], p["inputSize"], p["inputSize"]).to(memory_format=fmt)
    y = torch.randint(0, p["numClasses"], (a.batch_size,))
    arch = parse_arch(a.arch)
    fair = [parse_arch(s) for s in a.fair_paths.split(";")]
    lr, momentum, wd = 0.045, 0.9, 4e-5  # SupernetTrainerOptions defaults
    result = {"framework": "pytorch " + torch.__version__, "variant": a.variant, "threads": torch.get_num_threads(),
              "batchSize": a.batch_size, "workloads": {}}
    work = a.workloads.split(",")

    if "child" in work:
        child = ChildNetwork(p, arch).to(memory_format=fmt).train()
        opt = torch.optim.SGD(child.parameters(), lr, momentum=momentum, weight_decay=wd)

        def child_step():
            child.zero_grad(set_to_none=True)
            loss = F.cross_entropy(child(x), y)
            loss.backward()
            opt.step()
            loss.item()
        result["workloads"]["child"] = timed(child_step, a.warmup, a.steps)

    if "path" in work or "fair" in work or "generator" in work:
        net = Supernet(p).to(memory_format=fmt).train()
        opt = torch.optim.SGD(net.parameters(), lr, momentum=momentum, weight_decay=wd)

        def train_step(paths):
            net.zero_grad(set_to_none=True)
            for path in paths:
                logits = net(x, path)
                loss = F.cross_entropy(logits, y)
                loss.item()
                loss.backward()
                logits.argmax(1).eq(y).sum().item()
            opt.step()
        if "path" in work:
            result["workloads"]["path"] = timed(lambda: train_step([arch]), a.warmup, a.steps)
        if "fair" in work:
            result["workloads"]["fair"] = timed(lambda: train_step(fair), a.warmup, max(2, a.steps // 2))
            result["workloads"]["fair"]["paths"] = len(fair)

        if "generator" in work:
            # GeneratorTrainer step: frozen supernet in eval mode, Adam(1e-3, (0.5, 0.999)) on G only.
            net.eval()
            for q in net.parameters():
                q.requires_grad_(False)
            L, S, O = len(p["layers"]), p["maxExpansion"], len(p["kernels"]) + 1
            gen = Generator(L, S * O).train()
            gopt = torch.optim.Adam(gen.parameters(), 1e-3, betas=(0.5, 0.999))
            mask = torch.ones(S, O)
            mask[: p["minExpansion"], O - 1] = 0  # forced sampling: the first e_min sub-blocks never skip
            dw, pw = cost_table(p)
            prior = torch.zeros(1, L, S, O)
            prior[..., 0] = 1
            noise_gen = torch.Generator().manual_seed(1)
            target, lam, margin = 3.0, 3e-4, 0.01

            def gen_step():
                c = torch.tensor([0.5])
                alpha = gen(prior, c).reshape(1, L, S, O)
                u = torch.rand(alpha.shape, generator=noise_gen).clamp(1e-10, 1 - 1e-7)
                g = -(-u.log()).log()
                logits = ((alpha + g) / 5.0).masked_fill(mask.eq(0), float("-inf"))
                m = logits.softmax(-1)
                cost = (m * dw).sum((1, 2, 3)) + ((1 - m.select(3, O - 1).sum(2) / S) * pw).sum(1)
                out = net.forward_relaxed(x, m[0])
                ce = F.cross_entropy(out, y)
                d = cost - target
                wgt = torch.where(d > margin, torch.full_like(d, 1.2), torch.where(d < -margin, torch.ones_like(d), torch.zeros_like(d)))
                loss = ce + lam * (d * d * wgt).mean()
                loss.item()
                gopt.zero_grad(set_to_none=True)
                loss.backward()
                gopt.step()
            result["workloads"]["generator"] = timed(gen_step, a.warmup, a.steps)
    json.dump(result, sys.stdout)
    print()


if __name__ == "__main__":
    main()
