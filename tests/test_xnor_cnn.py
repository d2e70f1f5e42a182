"""The XNOR-Net CNN trained on the bundled MNIST data (examples/train_xnor_cnn.py), exported by
both PyTorch exporters: each file compiles, and the C agrees with onnxruntime on the class of
every one of the 10,000 MNIST test images; under QEMU (Cortex-M4) the C is bit-identical to
the host build."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import edgebnn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from mnist_data import load_mnist_test  # noqa: E402

MODELS = ROOT / "examples" / "models" / "xnor_cnn"
EXPORTS = ["xnor_cnn_torchscript.onnx", "xnor_cnn_dynamo.onnx"]


@pytest.fixture(scope="module")
def mnist():
    images, labels = load_mnist_test()
    return (images.astype(np.float32) / 255.0)[:, None], labels


def _onnxruntime(path, x):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


@pytest.mark.parametrize("export", EXPORTS)
def test_c_class_equals_onnxruntime_on_every_mnist_image(export, mnist):
    x, labels = mnist
    compiled = edgebnn.compile(MODELS / export, target="cortex-m4")
    layers = compiled.report["layers"]
    assert [r["op"] for r in layers if r["binary_macs"]] == ["bconv", "bconv", "bdense"]
    c = compiled.run(x)
    o = _onnxruntime(MODELS / export, x)
    differ = np.flatnonzero(c.argmax(1) != o.argmax(1))
    assert differ.size == 0, f"class differs from onnxruntime on images {differ[:20].tolist()}"
    np.testing.assert_allclose(c, o, rtol=1e-5, atol=1e-5 * float(np.abs(o).max()))
    held_out = float(np.mean(c[8000:].argmax(1) == labels[8000:]))
    print(f"{export}: held-out accuracy of the C {held_out:.4f}")
    assert held_out > 0.95


def test_cnn_under_emulation_identical_to_host(mnist):
    x, _ = mnist
    compiled = edgebnn.compile(MODELS / EXPORTS[0], target="cortex-m4")
    outputs, stats = compiled.emulate(x[:3])
    assert np.array_equal(outputs, compiled.run(x[:3]))
    assert stats["instructions_per_inference"] > 0
