"""A small binary CNN exported with a static batch of 8 by both PyTorch exporters
(`x.view(8, -1)` bakes the batch into the graph's Reshape), for the static-batch tests.

Run with a PyTorch environment (see README.md here): python make_static_batch.py
"""
from __future__ import annotations

from pathlib import Path

import onnx
import torch
from torch import nn

HERE = Path(__file__).resolve().parent
BATCH = 8


def sign(x):
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


class BinaryConv(nn.Conv2d):
    def forward(self, x):
        return nn.functional.conv2d(sign(x), sign(self.weight), None, self.stride, self.padding)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(16)
        self.conv = BinaryConv(16, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(32 * 6 * 6, 10)

    def forward(self, x):
        x = self.bn0(self.stem(x))
        x = self.pool(self.bn1(self.conv(x)))
        return self.fc(sign(x).view(BATCH, -1))


def main() -> None:
    torch.manual_seed(23)
    net = Net().eval()
    with torch.no_grad():
        for bn in (net.bn0, net.bn1):
            n = bn.num_features
            bn.weight.copy_(torch.empty(n).uniform_(0.3, 1.5) * torch.where(torch.rand(n) < 0.5, -1.0, 1.0))
            bn.bias.uniform_(-0.5, 0.5)
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.5, 2)
    x = torch.randn(BATCH, 1, 12, 12)
    torch.onnx.export(net, (x,), HERE / "static_batch8_torchscript.onnx", dynamo=False, opset_version=13,
                      input_names=["input"], output_names=["logits"])
    program = torch.onnx.export(net, (x,), dynamo=True, opset_version=18, input_names=["input"],
                                output_names=["logits"])
    path = HERE / "static_batch8_dynamo.onnx"
    program.save(str(path), include_initializers=True, keep_initializers_as_inputs=False, external_data=False)
    model = onnx.load(str(path))
    for node in model.graph.node:  # the dynamo exporter records absolute source paths here
        del node.metadata_props[:]
    onnx.save(model, str(path))


if __name__ == "__main__":
    main()
