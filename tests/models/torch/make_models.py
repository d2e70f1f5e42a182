#!/usr/bin/env python3
"""Make small random-weight binary CNNs and export each with both PyTorch ONNX exporters.

Run from anywhere with the torch environment (torch, onnxscript, onnx, onnxruntime):

    python tests/models/torch/make_models.py            # writes the .onnx files beside this script
    python tests/models/torch/make_models.py --check    # also runs each file in onnxruntime

The three networks follow the forward computation of the authors' public PyTorch code
(re-written here, reduced in width/depth so each file stays well under 1 MB):

* Bi-Real-18   -- liuzechun/Bi-Real-net, pytorch_implementation/BiReal18_34/birealnet.py, with the
                  inference branch the same authors added in liuzechun/ReActNet
                  resnet/2_step2/birealnet.py (eval: sign(x); conv(sign(x), sign(W)) * mean|W|).
* ReActNet-A   -- liuzechun/ReActNet, mobilenet/2_step2/reactnet.py (RSign, RPReLU, 3x3 + 1x1
                  binary convs, channel-duplicating downsample blocks with torch.cat).
* IR-Net RN-20 -- htqin/IR-Net, CIFAR-10/ResNet20/1w1a (Libra-PB weight standardisation, power-of-
                  two scale, sign via an autograd.Function, option-A shortcut, hardtanh).

Weights, learnable shifts and PReLU slopes are random; BatchNorm statistics are random around the
statistics of the layer's actual input (so the per-channel thresholds fall inside the range the
layer sees), with gammas of both signs. Everything is seeded: re-running gives the same weights.
"""
import argparse
import collections
import hashlib
import math
import os
import re
import sys
import tempfile

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SEED = 17
INPUT_SHAPE = (1, 3, 32, 32)
NUM_CLASSES = 10


# --------------------------------------------------------------------------------------------
# Bi-Real Net (ResNet-18 layout: one binary 3x3 conv per block, real shortcut around each)
# --------------------------------------------------------------------------------------------
class BiRealSign(nn.Module):
    """ApproxSign STE in training; plain torch.sign at inference (as the authors' eval branch)."""

    def forward(self, x):
        hard = torch.sign(x)
        if not self.training:
            return hard
        lt_m1 = (x < -1).float()
        lt_0 = (x < 0).float()
        lt_p1 = (x < 1).float()
        soft = -1 * lt_m1 + (x * x + 2 * x) * (1 - lt_m1)
        soft = soft * lt_0 + (-x * x + 2 * x) * (1 - lt_0)
        soft = soft * lt_p1 + 1 * (1 - lt_p1)
        return hard.detach() - soft.detach() + soft


class BiRealBinaryConv(nn.Module):
    """3x3 conv whose weights are sign(W) times the per-output-channel mean |W|."""

    def __init__(self, cin, cout, k=3, stride=1, padding=1):
        super().__init__()
        self.stride, self.padding = stride, padding
        self.shape = (cout, cin, k, k)
        self.weight = nn.Parameter(torch.rand(self.shape) * 1e-3)

    def forward(self, x):
        w = self.weight
        alpha = w.abs().mean(dim=3, keepdim=True).mean(dim=2, keepdim=True).mean(dim=1, keepdim=True)
        if self.training:
            alpha = alpha.detach()
            clipped = torch.clamp(w, -1.0, 1.0)
            bw = (alpha * torch.sign(w)).detach() - clipped.detach() + clipped
            return F.conv2d(x, bw, stride=self.stride, padding=self.padding)
        y = F.conv2d(x, torch.sign(w), stride=self.stride, padding=self.padding)
        return y * alpha.reshape([-1, 1, 1])


class BiRealBlock(nn.Module):
    def __init__(self, cin, cout, stride=1, downsample=None):
        super().__init__()
        self.binarize = BiRealSign()
        self.conv = BiRealBinaryConv(cin, cout, stride=stride)
        self.bn = nn.BatchNorm2d(cout)
        self.downsample = downsample

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.bn(self.conv(self.binarize(x))) + shortcut


class BiRealNet(nn.Module):
    def __init__(self, widths=(8, 16, 32, 64), blocks=(4, 4, 4, 4), num_classes=NUM_CLASSES):
        super().__init__()
        c0 = widths[0]
        self.conv1 = nn.Conv2d(3, c0, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(c0)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        stages, cin = [], c0
        for i, (c, n) in enumerate(zip(widths, blocks)):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or cin != c:
                down = nn.Sequential(
                    nn.AvgPool2d(kernel_size=2, stride=stride),
                    nn.Conv2d(cin, c, kernel_size=1, bias=False),
                    nn.BatchNorm2d(c),
                )
            layer = [BiRealBlock(cin, c, stride, down)] + [BiRealBlock(c, c) for _ in range(n - 1)]
            stages.append(nn.Sequential(*layer))
            cin = c
        self.layers = nn.Sequential(*stages)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.bn1(self.conv1(x)))
        x = self.layers(x)
        x = self.avgpool(x)
        return self.fc(x.view(x.size(0), -1))


# --------------------------------------------------------------------------------------------
# ReActNet-A (MobileNet-like: RSign -> binary 3x3 -> BN (+x) -> RPReLU -> RSign -> binary 1x1)
# --------------------------------------------------------------------------------------------
class LearnableBias(nn.Module):
    def __init__(self, channels):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x):
        return x + self.bias.reshape([-1, 1, 1])


class ReActBinaryConv(nn.Module):
    """Weights kept flat, as in the authors' code; eval: conv(x, sign(W)) * mean|W| per channel."""

    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.stride, self.padding = stride, padding
        self.shape = (cout, cin, k, k)
        self.weights = nn.Parameter(torch.rand((cout * cin * k * k, 1)) * 1e-3)

    def forward(self, x):
        w = self.weights.view(self.shape)
        alpha = torch.mean(torch.mean(torch.mean(abs(w), dim=3, keepdim=True), dim=2, keepdim=True),
                           dim=1, keepdim=True)
        if self.training:
            alpha = alpha.detach()
            clipped = torch.clamp(w, -1.0, 1.0)
            bw = (alpha * torch.sign(w)).detach() - clipped.detach() + clipped
            return F.conv2d(x, bw, stride=self.stride, padding=self.padding)
        y = F.conv2d(x, torch.sign(w), stride=self.stride, padding=self.padding)
        return y * alpha.reshape([-1, 1, 1])


class ReActBlock(nn.Module):
    def __init__(self, cin, cout, stride=1):
        super().__init__()
        self.cin, self.cout, self.stride = cin, cout, stride
        self.move11 = LearnableBias(cin)
        self.binary_3x3 = ReActBinaryConv(cin, cin, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(cin)
        self.move12 = LearnableBias(cin)
        self.prelu1 = nn.PReLU(cin)
        self.move13 = LearnableBias(cin)
        self.move21 = LearnableBias(cin)
        if cin == cout:
            self.binary_pw = ReActBinaryConv(cin, cout, 1)
            self.bn2 = nn.BatchNorm2d(cout)
        else:
            assert cout == 2 * cin
            self.binary_pw_down1 = ReActBinaryConv(cin, cin, 1)
            self.binary_pw_down2 = ReActBinaryConv(cin, cin, 1)
            self.bn2_1 = nn.BatchNorm2d(cin)
            self.bn2_2 = nn.BatchNorm2d(cin)
            self.pooling = nn.AvgPool2d(2, 2)
        self.move22 = LearnableBias(cout)
        self.prelu2 = nn.PReLU(cout)
        self.move23 = LearnableBias(cout)
        self.binarize = BiRealSign()

    def forward(self, x):
        out1 = self.bn1(self.binary_3x3(self.binarize(self.move11(x))))
        if self.stride == 2:
            x = self.pooling(x)
        out1 = self.move13(self.prelu1(self.move12(x + out1)))
        out2 = self.binarize(self.move21(out1))
        if self.cin == self.cout:
            out2 = self.bn2(self.binary_pw(out2)) + out1
        else:
            a = self.bn2_1(self.binary_pw_down1(out2)) + out1
            b = self.bn2_2(self.binary_pw_down2(out2)) + out1
            out2 = torch.cat([a, b], dim=1)
        return self.move23(self.prelu2(self.move22(out2)))


class ReActNetA(nn.Module):
    # Full ReActNet-A: [32, 64, 128x2, 256x2, 512x6, 1024x2]; reduced here.
    STAGES = (8, 16, 32, 32, 64, 64, 64, 128)

    def __init__(self, stages=STAGES, num_classes=NUM_CLASSES):
        super().__init__()
        self.stem_conv = nn.Conv2d(3, stages[0], 3, 2, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(stages[0])
        blocks = []
        for i in range(1, len(stages)):
            # as in the original: stride 2 where the width changes, except the first block
            stride = 2 if (stages[i - 1] != stages[i] and i != 1) else 1
            blocks.append(ReActBlock(stages[i - 1], stages[i], stride))
        self.feature = nn.Sequential(*blocks)
        self.pool1 = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(stages[-1], num_classes)

    def forward(self, x):
        x = self.feature(self.stem_bn(self.stem_conv(x)))
        x = self.pool1(x)
        return self.fc(x.view(x.size(0), -1))


# --------------------------------------------------------------------------------------------
# IR-Net ResNet-20 for CIFAR (Libra-PB weights, option-A shortcut, hardtanh)
# --------------------------------------------------------------------------------------------
class BinaryQuantize(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, k, t):
        ctx.save_for_backward(x, k, t)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad):
        x, k, t = ctx.saved_tensors
        return k * t * (1 - torch.pow(torch.tanh(x * t), 2)) * grad, None, None


class IRConv2d(nn.Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.k = torch.tensor([10.0])
        self.t = torch.tensor([0.1])

    def forward(self, x):
        w = self.weight
        n = w.size(0)
        bw = w - w.view(n, -1).mean(-1).view(n, 1, 1, 1)
        bw = bw / bw.view(n, -1).std(-1).view(n, 1, 1, 1)
        sw = torch.pow(torch.tensor([2] * n).float(),
                       (torch.log(bw.abs().view(n, -1).mean(-1)) / math.log(2)).round().float()
                       ).view(n, 1, 1, 1).detach()
        bw = BinaryQuantize.apply(bw, self.k, self.t)
        ba = BinaryQuantize.apply(x, self.k, self.t)
        return F.conv2d(ba, bw * sw, self.bias, self.stride, self.padding, self.dilation, self.groups)


class OptionAShortcut(nn.Module):
    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)


class IRBlock(nn.Module):
    def __init__(self, cin, planes, stride=1):
        super().__init__()
        self.conv1 = IRConv2d(cin, planes, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = IRConv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = OptionAShortcut(planes)

    def forward(self, x):
        out = self.bn1(self.conv1(x))
        out += self.shortcut(x)
        out = F.hardtanh(out)
        x1 = out
        out = self.bn2(self.conv2(out))
        out += x1
        return F.hardtanh(out)


class IRNetResNet20(nn.Module):
    def __init__(self, widths=(8, 16, 32), blocks=(3, 3, 3), num_classes=NUM_CLASSES):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths[0], 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, cin = [], widths[0]
        for i, (c, n) in enumerate(zip(widths, blocks)):
            for j in range(n):
                layers.append(IRBlock(cin, c, 2 if (i > 0 and j == 0) else 1))
                cin = c
        self.layers = nn.Sequential(*layers)
        self.bn2 = nn.BatchNorm1d(cin)
        self.linear = nn.Linear(cin, num_classes)

    def forward(self, x):
        out = F.hardtanh(self.bn1(self.conv1(x)))
        out = self.layers(out)
        out = F.avg_pool2d(out, out.size()[3])
        out = out.view(out.size(0), -1)
        return self.linear(self.bn2(out))


# --------------------------------------------------------------------------------------------
# Randomisation
# --------------------------------------------------------------------------------------------
def _signed_gamma(gen, n):
    mag = torch.empty(n).uniform_(0.3, 1.5, generator=gen)
    sign = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
    return mag * sign


@torch.no_grad()
def randomize(model, seed):
    """Random weights; BatchNorm stats random around the statistics of each BN's real input."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (BiRealBinaryConv, IRConv2d)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.05)
        elif isinstance(m, ReActBinaryConv):
            m.weights.copy_(torch.randn(m.weights.shape, generator=gen) * 0.05)
        elif isinstance(m, nn.Conv2d):
            fan_in = m.weight[0].numel()
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / fan_in))
        elif isinstance(m, nn.Linear):
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) / math.sqrt(m.in_features))
            m.bias.copy_(torch.empty(m.bias.shape).uniform_(-0.1, 0.1, generator=gen))
        elif isinstance(m, LearnableBias):
            m.bias.copy_(torch.empty(m.bias.shape).uniform_(-0.3, 0.3, generator=gen))
        elif isinstance(m, nn.PReLU):
            m.weight.copy_(torch.empty(m.weight.shape).uniform_(0.05, 0.5, generator=gen))

    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    order, seen = [], set()
    hooks = [bn.register_forward_pre_hook(lambda mod, inp: order.append(mod)) for bn in bns]
    calib = torch.randn((16,) + INPUT_SHAPE[1:], generator=gen)
    model.eval()
    model(calib)
    for h in hooks:
        h.remove()
    order = [bn for bn in order if not (bn in seen or seen.add(bn))]
    assert len(order) == len(bns)

    for bn in order:  # forward order: each BN is calibrated on the already-randomised layers before it
        captured = {}
        h = bn.register_forward_pre_hook(lambda mod, inp: captured.setdefault("x", inp[0]))
        model(calib)
        h.remove()
        x = captured["x"]
        dims = [0] + list(range(2, x.dim()))
        mean, std = x.mean(dim=dims), x.std(dim=dims).clamp_min(1e-3)
        n = mean.numel()
        bn.running_mean.copy_(mean + 0.5 * std * torch.randn(n, generator=gen))
        bn.running_var.copy_(std ** 2 * torch.empty(n).uniform_(0.5, 2.0, generator=gen))
        bn.weight.copy_(_signed_gamma(gen, n))
        bn.bias.copy_(torch.empty(n).uniform_(-0.5, 0.5, generator=gen))
    return model


# --------------------------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------------------------
_ABS_PATH = re.compile(r"(/[^\s\"',:()]+)")


def _relativise(text):
    def repl(m):
        p = m.group(1)
        if p.startswith(REPO_ROOT + "/"):
            return os.path.relpath(p, REPO_ROOT)
        i = p.find("/site-packages/")
        if i >= 0:
            return "<site-packages>/" + p[i + len("/site-packages/"):]
        i = p.find("/lib/python")
        if i >= 0:
            return "<python>/" + p[i + len("/lib/"):]
        return p

    return _ABS_PATH.sub(repl, text)


def _graphs(g):
    yield g
    for n in g.node:
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                yield from _graphs(a.g)
            for sg in a.graphs:
                yield from _graphs(sg)


def clean_paths(model):
    """Relativise absolute source paths in doc strings and metadata_props (nodes, graph, model)."""
    model.doc_string = _relativise(model.doc_string)
    for p in model.metadata_props:
        p.value = _relativise(p.value)
    for g in _graphs(model.graph):
        g.doc_string = _relativise(g.doc_string)
        for p in g.metadata_props:
            p.value = _relativise(p.value)
        for n in g.node:
            n.doc_string = _relativise(n.doc_string)
            for p in n.metadata_props:
                p.value = _relativise(p.value)
    return model


def export_both(model, x, stem):
    """Export with the TorchScript and the dynamo exporter; return {tag: path}."""
    out = {}
    path = os.path.join(HERE, stem + "_torchscript.onnx")
    torch.onnx.export(model, (x,), path, dynamo=False, opset_version=13,
                      input_names=["input"], output_names=["logits"])
    onnx.save(clean_paths(onnx.load(path)), path)
    out["torchscript"] = path

    path = os.path.join(HERE, stem + "_dynamo.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = os.path.join(tmp, "model.onnx")
        torch.onnx.export(model, (x,), tmp_path, dynamo=True, opset_version=18,
                          input_names=["input"], output_names=["logits"])
        m = onnx.load(tmp_path, load_external_data=True)  # pulls in a side .data file if written
    onnx.save(clean_paths(m), path, save_as_external_data=False)
    out["dynamo"] = path
    return out


MODELS = {
    "birealnet18": (BiRealNet, "Bi-Real-18 (widths 8/16/32/64, blocks 4/4/4/4)"),
    "reactnet_a": (ReActNetA, "ReActNet-A (stages 8|16|32,32|64,64,64|128)"),
    "irnet_resnet20": (IRNetResNet20, "IR-Net ResNet-20 (widths 8/16/32, blocks 3/3/3)"),
}


def check(path, model, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: x.numpy()})[0]
    with torch.no_grad():
        ref = model(x).numpy()
    return float(np.max(np.abs(got - ref))), int(got.argmax()) == int(ref.argmax())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="run each file in onnxruntime vs PyTorch")
    ap.add_argument("--only", choices=sorted(MODELS), action="append")
    args = ap.parse_args()
    torch.manual_seed(SEED)
    for i, (stem, (cls, desc)) in enumerate(MODELS.items()):
        if args.only and stem not in args.only:
            continue
        model = randomize(cls(), SEED + i).eval()
        x = torch.randn(INPUT_SHAPE, generator=torch.Generator().manual_seed(1000 + i))
        n_params = sum(p.numel() for p in model.parameters())
        n_buf = sum(b.numel() for n, b in model.named_buffers() if "num_batches" not in n)
        paths = export_both(model, x, stem)
        for tag, path in paths.items():
            m = onnx.load(path)
            ops = collections.Counter(n.op_type for n in m.graph.node)
            line = f"{os.path.basename(path)}: {desc}; params {n_params} (+{n_buf} BN stats); " \
                   f"{os.path.getsize(path)} bytes; opset {m.opset_import[0].version}"
            if args.check:
                diff, same = check(path, model, x)
                line += f"; ORT max|diff| {diff:.3g}, argmax equal {same}"
            print(line)
            print("   ops:", dict(sorted(ops.items())))
            print("   sha256:", hashlib.sha256(open(path, "rb").read()).hexdigest())


if __name__ == "__main__":
    sys.exit(main())
