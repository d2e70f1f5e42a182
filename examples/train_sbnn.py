"""Train sparse binary networks (SBNN) on the bundled MNIST data and export them to ONNX.

An MLP (784-256-256-10) and a CNN (the XNOR-Net CNN of train_xnor_cnn.py) with pruned
bipolar weights {-a, 0, +a} per output channel at expected connection rates of 10 % and 5 %:
trained dense-binary for one epoch, then the largest |W| per layer are kept (the mask is
fixed) and training goes on with the mask multiplied in.  The export keeps the mask as a
constant Mul, as a sparse-binary exporter writes it; edgebnn folds it at compile time.

Trains on the first 8,000 MNIST test images, evaluates on the last 2,000 (only the test
set ships with edgebnn).  PyTorch is an optional extra: `pip install -e ".[train]"`.

    python examples/train_sbnn.py [--epochs 4] [-o examples/models/sbnn]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_data import load_mnist_test  # noqa: E402
from train_xnor_cnn import TRAIN, XnorCnn, accuracy, sign, train  # noqa: E402


class Masked:
    """Mixin: weights sign(W) * mean|W| times a fixed 0/1 connection mask."""

    def binary_weight(self):
        alpha = (self.weight.abs() * self.mask).sum(dim=tuple(range(1, self.weight.dim())), keepdim=True)
        alpha = alpha / self.mask.sum(dim=tuple(range(1, self.weight.dim())), keepdim=True).clamp(min=1)
        return sign(self.weight) * alpha * self.mask


class SparseLinear(Masked, nn.Linear):
    def __init__(self, k, n):
        super().__init__(k, n, bias=False)
        self.register_buffer("mask", torch.ones(n, k))

    def forward(self, x):
        return nn.functional.linear(x, self.binary_weight())


class SparseConv2d(Masked, nn.Conv2d):
    def __init__(self, c, m):
        super().__init__(c, m, 3, padding=1, bias=False)
        self.register_buffer("mask", torch.ones(m, c, 3, 3))

    def forward(self, x):
        return self._conv_forward(x, self.binary_weight(), None)


class SparseMlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1, self.bn1 = SparseLinear(784, 256), nn.BatchNorm1d(256)
        self.fc2, self.bn2 = SparseLinear(256, 256), nn.BatchNorm1d(256)
        self.fc3, self.bn3 = SparseLinear(256, 10), nn.BatchNorm1d(10)

    def forward(self, x):
        x = sign(torch.flatten(x, 1) * 2 - 1)
        x = sign(self.bn1(self.fc1(x)))
        x = sign(self.bn2(self.fc2(x)))
        return self.bn3(self.fc3(x))


class SparseCnn(XnorCnn):
    def __init__(self):
        super().__init__()
        self.conv2, self.conv3 = SparseConv2d(16, 32), SparseConv2d(32, 32)
        self.fc = SparseLinear(32 * 7 * 7, 10)


def prune(model: nn.Module, rate: float) -> None:
    """Keep the largest |W| of each sparse layer: a fraction ``rate`` of the connections."""
    for layer in model.modules():
        if isinstance(layer, Masked):
            w = layer.weight.detach().abs().flatten()
            keep = max(1, int(round(rate * w.numel())))
            cut = torch.topk(w, keep).values[-1]
            layer.mask.copy_((layer.weight.detach().abs() >= cut).float())


def export(model: nn.Module, path: Path) -> None:
    model.eval()
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 1, 28, 28),), path, dynamo=False, opset_version=13,
                          input_names=["image"], output_names=["logits"], do_constant_folding=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("-o", "--output", default=str(Path(__file__).resolve().parent / "models" / "sbnn"))
    args = ap.parse_args(argv)
    images, labels = load_mnist_test()
    x = torch.from_numpy(images.astype(np.float32)[:, None] / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    for name, make in (("mlp", SparseMlp), ("cnn", SparseCnn)):
        for rate in (0.10, 0.05):
            model = make()
            train(model, x[:TRAIN], y[:TRAIN], 1)
            prune(model, rate)
            train(model, x[:TRAIN], y[:TRAIN], args.epochs - 1, seed=1)
            acc = accuracy(model, x[TRAIN:], y[TRAIN:])
            path = out / f"sbnn_{name}_p{int(rate * 100):02d}.onnx"
            export(model, path)
            print(f"{path.name}: connection rate {rate:.0%}, held-out accuracy (PyTorch) {acc:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
