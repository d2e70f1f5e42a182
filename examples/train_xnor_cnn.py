"""Train a small XNOR-Net CNN on the bundled MNIST data and export it with both PyTorch
ONNX exporters (TorchScript, ``dynamo=False``; torch.export, ``dynamo=True``).

Only the MNIST *test* set ships with edgebnn, so this trains on its first 8,000 images
and evaluates on the remaining 2,000 (the committed models' figures come from that
split).  PyTorch is an optional extra (``pip install torch onnxscript``); the compiler
and its tests do not need it: the exported .onnx files are committed.

    python examples/train_xnor_cnn.py [--epochs 4] [-o examples/models/xnor_cnn]

The network: a real 3x3 conv (1 -> 16) + BN + sign, then two binary 3x3 convs (16 -> 32,
32 -> 32; XNOR-Net weights sign(W) * mean|W| per output channel, zero padding) each with
2x2 max pooling before BN + sign, then a binary dense layer (32*7*7 -> 10) + BN.
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

TRAIN = 8000


def sign(x: torch.Tensor) -> torch.Tensor:
    """±1 with 0 -> +1; straight-through gradient (clipped to |x| <= 1) while training.
    In eval mode it is a plain Where(x >= 0, 1, -1), the form both exporters write."""
    hard = torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
    if not torch.is_grad_enabled():
        return hard
    soft = torch.clamp(x, -1.0, 1.0)
    return soft + (hard - soft).detach()


class BinaryConv2d(nn.Conv2d):
    def forward(self, x):
        alpha = self.weight.abs().mean(dim=(1, 2, 3), keepdim=True)
        return self._conv_forward(x, sign(self.weight) * alpha, None)


class BinaryLinear(nn.Linear):
    def forward(self, x):
        alpha = self.weight.abs().mean(dim=1, keepdim=True)
        return nn.functional.linear(x, sign(self.weight) * alpha)


class XnorCnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = BinaryConv2d(16, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = BinaryConv2d(32, 32, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(32)
        self.fc = BinaryLinear(32 * 7 * 7, 10, bias=False)
        self.bn4 = nn.BatchNorm1d(10)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        x = sign(self.bn1(self.conv1(x)))
        x = sign(self.bn2(self.pool(self.conv2(x))))
        x = sign(self.bn3(self.pool(self.conv3(x))))
        return self.bn4(self.fc(torch.flatten(x, 1)))


def train(model, x, y, epochs: int, seed: int = 0) -> None:
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs * (len(x) // 64))
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(x))
        for i in range(0, len(x) - 63, 64):
            idx = order[i:i + 64]
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f"epoch {epoch + 1}: loss {loss.item():.3f}")


def accuracy(model, x, y) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def export(model, out: Path) -> None:
    model.eval()
    example = torch.zeros(1, 1, 28, 28)
    with torch.no_grad():
        torch.onnx.export(model, (example,), out / "xnor_cnn_torchscript.onnx", dynamo=False, opset_version=13,
                          input_names=["image"], output_names=["logits"])
        program = torch.onnx.export(model, (example,), dynamo=True)
        program.save(str(out / "xnor_cnn_dynamo.onnx"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("-o", "--output", default=str(Path(__file__).resolve().parent / "models" / "xnor_cnn"))
    args = ap.parse_args(argv)
    images, labels = load_mnist_test()
    x = torch.from_numpy(images.astype(np.float32)[:, None] / 255.0)
    y = torch.from_numpy(labels.astype(np.int64))
    model = XnorCnn()
    train(model, x[:TRAIN], y[:TRAIN], args.epochs)
    print(f"accuracy on the held-out {len(x) - TRAIN} images (PyTorch): {accuracy(model, x[TRAIN:], y[TRAIN:]):.4f}")
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    export(model, out)
    print(f"wrote {out}/xnor_cnn_torchscript.onnx and xnor_cnn_dynamo.onnx")
    return 0


if __name__ == "__main__":
    sys.exit(main())
