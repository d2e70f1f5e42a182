"""An XNOR-Net CNN for 28x28 inputs with pooling before BatchNorm, exported by both PyTorch
exporters: the network of the SRAM and speed acceptance tests.

    real conv 1->32 3x3 (pad 1, bias) -> sign
    binary conv 32->64 3x3 (pad 1) -> max-pool 2 -> BN -> sign
    binary conv 64->64 3x3 (pad 1) -> max-pool 2 -> BN -> sign
    binary dense 3136->128 -> BN -> sign
    real dense 128->10

Binary layers use XNOR-Net weights sign(W) * mean|W| per output channel, computed in-graph
(as Bi-Real/XNOR-Net code does).  Weights are random; each BatchNorm's statistics are random
around the statistics of its actual input (calibrated in forward order on 16 random images) with
gammas of both signs, so the thresholds fall inside the range the layer sees.

Run with a PyTorch environment (see README.md here): python make_xnor_cnn.py [--check]
"""
from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import numpy as np
import onnx
import torch
from torch import nn
from torch.nn import functional as F

HERE = Path(__file__).resolve().parent
SEED = 31
INPUT_SHAPE = (1, 1, 28, 28)


def xnor_weight(w):
    """sign(W) times the mean |W| of each output channel."""
    alpha = w.abs().reshape(w.shape[0], -1).mean(dim=1).reshape((-1,) + (1,) * (w.dim() - 1))
    return torch.sign(w) * alpha


class BinaryConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin, 3, 3))

    def forward(self, x):
        return F.conv2d(x, xnor_weight(self.weight), None, 1, 1)


class BinaryLinear(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(cout, cin))

    def forward(self, x):
        return F.linear(x, xnor_weight(self.weight))


class XnorCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv1, self.bn1 = BinaryConv(32, 64), nn.BatchNorm2d(64)
        self.conv2, self.bn2 = BinaryConv(64, 64), nn.BatchNorm2d(64)
        self.fc1, self.bn3 = BinaryLinear(3136, 128), nn.BatchNorm1d(128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = torch.sign(self.conv0(x))
        x = torch.sign(self.bn1(F.max_pool2d(self.conv1(x), 2)))
        x = torch.sign(self.bn2(F.max_pool2d(self.conv2(x), 2)))
        x = torch.sign(self.bn3(self.fc1(torch.flatten(x, 1))))
        return self.fc2(x)


@torch.no_grad()
def randomize(net, gen):
    for m in net.modules():
        if isinstance(m, (BinaryConv, BinaryLinear)):
            m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.05)
    net.conv0.weight.copy_(torch.randn(net.conv0.weight.shape, generator=gen) / 3.0)
    net.conv0.bias.copy_(torch.empty(32).uniform_(-0.3, 0.3, generator=gen))
    net.fc2.weight.copy_(torch.randn(net.fc2.weight.shape, generator=gen) / np.sqrt(128))
    net.fc2.bias.copy_(torch.empty(10).uniform_(-0.1, 0.1, generator=gen))
    calib = torch.randn((16,) + INPUT_SHAPE[1:], generator=gen)
    net.eval()
    for bn in (net.bn1, net.bn2, net.bn3):  # forward order
        seen = {}
        hook = bn.register_forward_pre_hook(lambda mod, inp: seen.setdefault("x", inp[0]))
        net(calib)
        hook.remove()
        x = seen["x"]
        dims = [0] + list(range(2, x.dim()))
        mean, std = x.mean(dim=dims), x.std(dim=dims).clamp_min(1e-3)
        n = mean.numel()
        bn.running_mean.copy_(mean + 0.5 * std * torch.randn(n, generator=gen))
        bn.running_var.copy_(std ** 2 * torch.empty(n).uniform_(0.5, 2.0, generator=gen))
        sign = torch.where(torch.rand(n, generator=gen) < 0.5, -1.0, 1.0)
        bn.weight.copy_(torch.empty(n).uniform_(0.3, 1.5, generator=gen) * sign)
        bn.bias.copy_(torch.empty(n).uniform_(-0.5, 0.5, generator=gen))
    return net


def export(net, x, tag):
    path = HERE / f"xnor_cnn_pool_bn_{tag}.onnx"
    names = dict(input_names=["input"], output_names=["logits"])
    if tag == "torchscript":
        torch.onnx.export(net, (x,), str(path), dynamo=False, opset_version=13, **names)
    else:
        program = torch.onnx.export(net, (x,), dynamo=True, opset_version=18, **names)
        program.save(str(path), include_initializers=True, keep_initializers_as_inputs=False,
                     external_data=False)
    model = onnx.load(str(path))
    for node in model.graph.node:  # the dynamo exporter records absolute source paths here
        del node.metadata_props[:]
    onnx.save(model, str(path))
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="compare onnxruntime with PyTorch")
    args = ap.parse_args()
    gen = torch.Generator().manual_seed(SEED)
    net = randomize(XnorCnn(), gen).eval()
    x = torch.randn(INPUT_SHAPE, generator=gen)
    for tag in ("torchscript", "dynamo"):
        path = export(net, x, tag)
        line = f"{path.name}: {path.stat().st_size} bytes, sha256 {hashlib.sha256(path.read_bytes()).hexdigest()}"
        if args.check:
            import onnxruntime as ort

            batch = torch.randn((64,) + INPUT_SHAPE[1:], generator=gen)
            sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            got = np.concatenate([sess.run(None, {"input": b[None].numpy()})[0] for b in batch])
            with torch.no_grad():
                ref = net(batch).numpy()
            same = float((got.argmax(1) == ref.argmax(1)).mean())
            line += f"; ORT vs PyTorch max|diff| {np.abs(got - ref).max():.3g}, same class {same:.0%}"
        print(line)


if __name__ == "__main__":
    main()
