"""An architecture is a plain dict, so it can be written into the emitted training script
and the JSON output as it is:

    {"family": "mlp" | "cnn", "input": [C, H, W], "classes": 10,
     "layers": [{"op": "conv", "out": 8, "k": 3, "stride": 2, "pool": False, "real": True, "rate": 1.0},
                {"op": "dense", "out": 128, "rate": 0.1, "real": False}, ...]}

The last layer is the classifier (``out`` = classes, BatchNorm, float output).  ``rate`` is
the expected connection rate of a binary layer (1.0 = dense binary); a ``real`` layer keeps
float weights.  Convolutions pad k // 2 ("same"); ``pool`` is a 2x2 max pool before the
BatchNorm + sign (on the accumulators, as the XNOR-Net CNN of examples/ does).
"""
from __future__ import annotations

import math

from ..errors import EdgebnnError


def parse_input(text: str) -> tuple[int, int, int]:
    """'1x28x28' / '28x28' / '784' -> (C, H, W); a flat size is (1, 1, N)."""
    try:
        dims = [int(p) for p in str(text).lower().replace(",", "x").split("x")]
    except ValueError:
        dims = []
    if not 1 <= len(dims) <= 3 or any(d < 1 for d in dims) or math.prod(dims) > 1 << 22:
        raise EdgebnnError(f"--input '{text}' is not a shape: give CxHxW such as 1x28x28 (or HxW, or N)")
    return tuple([1] * (3 - len(dims)) + dims)


def conv_out(size: int, k: int, stride: int) -> int:
    return (size + 2 * (k // 2) - k) // stride + 1


def shapes(arch: dict) -> list[tuple[int, int, int]]:
    """(C, H, W) after each layer (dense layers: (N, 1, 1))."""
    c, h, w = arch["input"]
    out = []
    for layer in arch["layers"]:
        if layer["op"] == "conv":
            c, h, w = layer["out"], conv_out(h, layer["k"], layer["stride"]), conv_out(w, layer["k"], layer["stride"])
            if layer.get("pool"):
                h, w = h // 2, w // 2
        else:
            c, h, w = layer["out"], 1, 1
        out.append((c, h, w))
    return out


def weights(arch: dict) -> list[int]:
    """Weights of each layer (all, connected or not)."""
    prev, n = arch["input"], []
    for layer, shape in zip(arch["layers"], shapes(arch)):
        fan_in = prev[0] * layer["k"] ** 2 if layer["op"] == "conv" else math.prod(prev)
        n.append(fan_in * layer["out"])
        prev = shape
    return n


def macs(arch: dict) -> int:
    total, prev = 0, arch["input"]
    for layer, shape in zip(arch["layers"], shapes(arch)):
        if layer["op"] == "conv":
            ho = conv_out(prev[1], layer["k"], layer["stride"])
            wo = conv_out(prev[2], layer["k"], layer["stride"])
            total += ho * wo * layer["out"] * prev[0] * layer["k"] ** 2
        else:
            total += math.prod(prev) * layer["out"]
        prev = shape
    return total


def connections(arch: dict) -> int:
    """Expected non-zero weights: the capacity a sparse layer really has."""
    return int(sum(n * (1.0 if layer.get("real") else layer["rate"]) for n, layer in zip(weights(arch), arch["layers"])))


def _pct(rate: float) -> str:
    return "" if rate >= 1 else f"@{rate * 100:g}%"


def label(arch: dict) -> str:
    """A short name: 'c8k3s2R c16k3p@10% f10@5%' (R = real weights, p = pooled)."""
    parts = []
    for layer in arch["layers"]:
        if layer["op"] == "conv":
            s = f"c{layer['out']}k{layer['k']}" + (f"s{layer['stride']}" if layer["stride"] > 1 else "")
            s += "p" if layer.get("pool") else ""
        else:
            s = f"f{layer['out']}"
        parts.append(s + ("R" if layer.get("real") else _pct(layer["rate"])))
    return " ".join(parts)
