"""Accuracy and size of the sparse binary networks next to the dense binary ones, from the C.

    python examples/sbnn_table.py [--target cortex-m4]

Each model is compiled, its C run on the 2,000 held-out MNIST test images (the SBNN and
XNOR-Net CNN examples were trained on the first 8,000), and its binary layers' weight storage
read from the report.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
import edgebnn  # noqa: E402
from edgebnn.cli import _table  # noqa: E402
from mnist_data import load_mnist_test  # noqa: E402

MODELS = [
    ("dense binary MLP (TFC-W1A1)", "models/tfc_w1a1/TFC_1W1A.onnx", 1.0),
    ("SBNN MLP 784-256-256-10", "models/sbnn/sbnn_mlp_p10.onnx", 0.10),
    ("SBNN MLP 784-256-256-10", "models/sbnn/sbnn_mlp_p05.onnx", 0.05),
    ("dense binary CNN (XNOR-Net)", "models/xnor_cnn/xnor_cnn_torchscript.onnx", 1.0),
    ("SBNN CNN", "models/sbnn/sbnn_cnn_p10.onnx", 0.10),
    ("SBNN CNN", "models/sbnn/sbnn_cnn_p05.onnx", 0.05),
]


def row(name, path, rate, target, x, labels):
    compiled = edgebnn.compile(HERE / path, target=target, allow_overflow=True)
    acc = float(np.mean(compiled.run(x).argmax(1) == labels))
    binary = [r for r in compiled.report["layers"] if r["binary_macs"] and r["weights"]]
    weights = sum(r["weights"] for r in binary)
    stored = sum(r["bits_per_weight"] * r["weights"] for r in binary) / 8
    return [name, f"{rate:.0%}", f"{acc:.4f}", weights, int(round(stored)), f"{8 * stored / weights:.3f}",
            compiled.report["memory"]["flash_bytes"]]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", default="cortex-m4")
    args = ap.parse_args(argv)
    images, labels = load_mnist_test()
    x, labels = (images[8000:].astype(np.float32) / 255.0)[:, None], labels[8000:]
    rows = [row(*m, args.target, x, labels) for m in MODELS]
    print(_table(rows, ["model", "connections", "accuracy (C, held-out 2,000)", "binary weights",
                        "binary weight bytes", "bits/weight", "flash B (total)"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
