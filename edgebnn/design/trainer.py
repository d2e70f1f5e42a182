"""Train a design candidate on MNIST and export it to ONNX (PyTorch; the optional `train` extra).

This file is also the training script `edgebnn design --emit` writes, with ARCH filled in:

    python train.py [--epochs 3] [--data DIR] [-o model.onnx]

The network is the candidate's (edgebnn/design/arch.py): binary layers with weights
sign(W) * mean|W| per output channel times a fixed 0/1 connection mask (sparse layers: the
largest |W| after one dense epoch, as examples/train_sbnn.py does), BatchNorm + sign
(straight-through gradient) between layers.  Only the MNIST test set ships with edgebnn:
train on its first 8,000 images, evaluate on the last 2,000.  The export keeps the weights,
binarisation and mask as graph nodes; edgebnn folds them at compile time.
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

ARCH = None  # the emitted script's architecture (a dict, see edgebnn/design/arch.py)
DATA = None  # the emitted script's default MNIST folder
TRAIN = 8000


def load_mnist(folder) -> tuple[torch.Tensor, torch.Tensor]:
    """The gzip idx MNIST test files -> float images (N, 1, 28, 28) in [0, 1], int64 labels."""
    def idx(name, offset):
        with gzip.open(Path(folder) / name, "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)
    x = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28).astype(np.float32) / 255.0
    return torch.from_numpy(x), torch.from_numpy(idx("t10k-labels-idx1-ubyte.gz", 8).astype(np.int64))


def sign(x):
    """±1 (0 -> +1), straight-through gradient clipped to |x| <= 1; Where(x >= 0, 1, -1) in eval."""
    hard = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    if not torch.is_grad_enabled():
        return hard
    soft = torch.clamp(x, -1.0, 1.0)
    return soft + (hard - soft).detach()


class Masked:
    def binary_weight(self):
        dims = tuple(range(1, self.weight.dim()))
        alpha = (self.weight.abs() * self.mask).sum(dim=dims, keepdim=True)
        alpha = alpha / self.mask.sum(dim=dims, keepdim=True).clamp(min=1)
        return sign(self.weight) * alpha * self.mask


class BinaryLinear(Masked, nn.Linear):
    def __init__(self, k, n, rate):
        super().__init__(k, n, bias=False)
        self.rate = rate
        self.register_buffer("mask", torch.ones(n, k))

    def forward(self, x):
        return nn.functional.linear(x, self.binary_weight())


class BinaryConv2d(Masked, nn.Conv2d):
    def __init__(self, c, m, k, stride, rate):
        super().__init__(c, m, k, stride=stride, padding=k // 2, bias=False)
        self.rate = rate
        self.register_buffer("mask", torch.ones(m, c, k, k))

    def forward(self, x):
        return self._conv_forward(x, self.binary_weight(), None)


class Net(nn.Module):
    """The candidate, op for op as edgebnn/design/onnxgen.py writes it."""

    def __init__(self, arch):
        super().__init__()
        c, h, w = arch["input"]
        self.layers, self.pools, self.bns, self.binarize_input = nn.ModuleList(), [], nn.ModuleList(), []
        for layer in arch["layers"]:
            # only a binary first layer reads the pixels as bits; later layers read sign() outputs
            self.binarize_input.append(not self.pools and not layer.get("real"))
            if layer["op"] == "conv":
                k, s, m = layer["k"], layer["stride"], layer["out"]
                self.layers.append(nn.Conv2d(c, m, k, stride=s, padding=k // 2) if layer.get("real")
                                   else BinaryConv2d(c, m, k, s, layer["rate"]))
                h, w = (h + 2 * (k // 2) - k) // s + 1, (w + 2 * (k // 2) - k) // s + 1
                if layer.get("pool"):
                    h, w = h // 2, w // 2
                self.bns.append(nn.BatchNorm2d(m))
                c = m
            else:
                k = c * h * w
                self.layers.append(nn.Linear(k, layer["out"]) if layer.get("real")
                                   else BinaryLinear(k, layer["out"], layer["rate"]))
                self.bns.append(nn.BatchNorm1d(layer["out"]))
                c, h, w = layer["out"], 1, 1
            self.pools.append(bool(layer.get("pool")))
        self.arch = arch

    def forward(self, x):
        n = len(self.layers)
        flat = False
        for i, (layer, bn, pool, binz) in enumerate(zip(self.layers, self.bns, self.pools, self.binarize_input)):
            if isinstance(layer, nn.Linear) and not flat:
                x, flat = torch.flatten(x, 1), True
            if binz:
                x = sign(x * 2 - 1)
            x = layer(x)
            if pool:
                x = nn.functional.max_pool2d(x, 2)
            x = bn(x)
            if i < n - 1:
                x = sign(x)
        return x


def prune(model: nn.Module) -> None:
    """Keep the largest |W| of each sparse layer: its connection rate of them."""
    for layer in model.modules():
        if isinstance(layer, Masked) and layer.rate < 1:
            w = layer.weight.detach().abs().flatten()
            keep = max(1, int(round(layer.rate * w.numel())))
            cut = torch.topk(w, keep).values[-1]
            layer.mask.copy_((layer.weight.detach().abs() >= cut).float())


def _epochs(model, x, y, epochs, seed):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, epochs * (len(x) // 64)))
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x) - 63, 64):
            idx = order[i:i + 64]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()


def train(arch: dict, data, epochs: int = 3, seed: int = 0) -> tuple[nn.Module, float]:
    """(trained model, accuracy on the held-out 2,000 images)."""
    torch.manual_seed(seed)
    x, y = load_mnist(data)
    model = Net(arch)
    sparse = any(isinstance(m, Masked) and m.rate < 1 for m in model.modules())
    first = 1 if sparse else epochs
    _epochs(model, x[:TRAIN], y[:TRAIN], first, seed)
    if sparse:
        prune(model)
        _epochs(model, x[:TRAIN], y[:TRAIN], max(1, epochs - 1), seed + 1)
    model.eval()
    with torch.no_grad():
        acc = float((model(x[TRAIN:]).argmax(1) == y[TRAIN:]).float().mean())
    return model, acc


def export(model: nn.Module, path) -> None:
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, *model.arch["input"]),), str(path), dynamo=False, opset_version=13,
                          input_names=["image"], output_names=["logits"], do_constant_folding=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arch", help="a JSON file with the architecture (default: the one written in)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--data", default=DATA, help="folder of the MNIST test files (t10k-*-idx*-ubyte.gz)")
    ap.add_argument("-o", "--output", default="model.onnx")
    args = ap.parse_args(argv)
    arch = json.loads(Path(args.arch).read_text()) if args.arch else ARCH
    if arch is None or not args.data:
        ap.error("give --arch and --data")
    model, acc = train(arch, args.data, args.epochs)
    export(model, args.output)
    print(f"held-out accuracy (PyTorch, last 2,000 MNIST test images): {acc:.4f}; wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
