"""Sparse binary networks (SBNN), both forms, dense and convolutional layers, at connection
rates 0 %, 1 %, 5 %, 10 %, 50 %, 100 %: C == reference == onnxruntime, exactly; and the
compressed weights' size (report and the emitted arrays)."""
from __future__ import annotations

import re

import numpy as np
import onnxruntime as ort
import pytest

import edgebnn
from sparse_builders import FORMS, build_sparse_cnn, build_sparse_mlp

DENSITIES = (0.0, 0.01, 0.05, 0.1, 0.5, 1.0)


def _onnxruntime(model, x):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    # no graph rewrites: fusing BatchNorm into MatMul changes float rounding, and this
    # comparison is exact
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])


def _check_exact(built, seed, weights="size"):
    x = np.random.default_rng(seed).normal(size=(8,) + built.input_shape[1:]).astype(np.float32)
    compiled = edgebnn.compile(built.model, target="cortex-m4", weights=weights)
    c = compiled.run(x)
    assert np.array_equal(c, edgebnn.reference(built.model).run(x))
    assert np.array_equal(c, _onnxruntime(built.model, x)), "C differs from onnxruntime"
    return compiled


SPARSE = {"size": {"huffman", "masked", "words"}, "speed": {"masked", "words"}}


def _formats(compiled, op):
    return {r["format"] for r in compiled.report["layers"] if r["op"] == op}


@pytest.mark.parametrize("weights", ["size", "speed"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("density", DENSITIES)
def test_sparse_mlp_exact(form, density, weights):
    for seed in range(3):
        compiled = _check_exact(build_sparse_mlp(np.random.default_rng(seed), density, form), seed, weights)
    formats = _formats(compiled, "bdense")
    assert formats <= ({"bits"} if density == 1.0 else {"bits"} | SPARSE[weights])
    if 0 < density < 1:
        assert formats & SPARSE[weights]
    if weights == "speed" and density in (0.0, 0.01):
        # most words hold no connection: only the list of the others is stored
        assert "words" in formats


@pytest.mark.parametrize("weights", ["size", "speed"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("density", DENSITIES)
def test_sparse_cnn_exact(form, density, weights):
    compiled = _check_exact(build_sparse_cnn(np.random.default_rng(7), density, form), 7, weights)
    if density < 1:
        assert _formats(compiled, "bconv") & SPARSE[weights]


@pytest.mark.parametrize("weights", ["size", "speed"])
@pytest.mark.parametrize("build", [build_sparse_mlp, build_sparse_cnn])
def test_word_pruned_layers(build, weights):
    """Whole 32-channel words pruned (3PXNet-style): exact, and stored in well under a bit
    per weight even without entropy coding."""
    built = build(np.random.default_rng(3), 0.1, "pruned", block=32,
                  **({"dims": (256, 128, 10)} if build is build_sparse_mlp else {"c0": 64, "channels": (64,)}))
    compiled = _check_exact(built, 3, weights)
    big = [r for r in compiled.report["layers"] if r["binary_macs"] and r["weights"] >= 10_000]
    assert big and all(r["bits_per_weight"] < 0.6 for r in big)
    if weights == "speed":
        assert {r["format"] for r in big} == {"words"}


def _emitted_weight_bytes(out_dir, layers) -> int:
    """Bytes of the weight arrays in model.c of the given layer numbers (+ the shared table)."""
    text = (out_dir / "model.c").read_text()
    sizes = {"uint32_t": 4, "uint16_t": 2, "uint8_t": 1}
    total = 0
    for ctype, name, n in re.findall(r"static const (uint32_t|uint16_t|uint8_t) (\w+)\[(\d+)\]", text):
        layer = re.match(r"L(\d+)_(w|m|code|signs|ends|index|wmask|wsign)$", name)
        if (layer and int(layer.group(1)) in layers) or name.startswith("huff_"):
            total += sizes[ctype] * int(n)
    return total


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("sparsity,limit", [(0.90, 0.6), (0.95, 0.4)])
def test_mlp_bits_per_weight(form, sparsity, limit, tmp_path):
    built = build_sparse_mlp(np.random.default_rng(1), 1 - sparsity, form, dims=(784, 256, 256, 10))
    compiled = edgebnn.compile(built.model, target="cortex-m4", out_dir=tmp_path / "out")
    rows = [(i, r) for i, r in enumerate(compiled.report["layers"]) if r["op"] == "bdense" and r["weights"] > 1000]
    weights = sum(r["weights"] for _, r in rows)
    report_bits = 8 * sum(r["bits_per_weight"] * r["weights"] / 8 for _, r in rows) / weights
    emitted = 8 * _emitted_weight_bytes(compiled.out_dir, {i for i, _ in rows}) / weights
    print(f"{form} at {sparsity:.0%} sparsity: {report_bits:.3f} bits/weight (report), "
          f"{emitted:.3f} (emitted arrays)")
    assert abs(report_bits - emitted) < 0.02
    assert report_bits <= limit


@pytest.mark.parametrize("name", ["sbnn_mlp_p10", "sbnn_mlp_p05", "sbnn_cnn_p10", "sbnn_cnn_p05"])
def test_trained_sbnn_examples(name):
    """The SBNN examples trained on MNIST (examples/train_sbnn.py): the C's class equals
    onnxruntime's on the 2,000 held-out test images, with compressed weights."""
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    sys.path.insert(0, str(root / "examples"))
    from mnist_data import load_mnist_test

    images, labels = load_mnist_test()
    x = (images[8000:].astype(np.float32) / 255.0)[:, None]
    path = root / "examples" / "models" / "sbnn" / f"{name}.onnx"
    compiled = edgebnn.compile(path, target="cortex-m4", allow_overflow=True)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    o = np.concatenate([s.run(None, {"image": x[i:i + 1]})[0] for i in range(len(x))])
    c = compiled.run(x)
    assert np.array_equal(c.argmax(1), o.argmax(1))
    np.testing.assert_allclose(c, o, rtol=1e-5, atol=1e-5 * float(np.abs(o).max()))
    binary = [r for r in compiled.report["layers"] if r["binary_macs"] and r["weights"]]
    assert {r["format"] for r in binary} <= SPARSE["size"]
    bits = sum(r["bits_per_weight"] * r["weights"] for r in binary) / sum(r["weights"] for r in binary)
    assert bits < (0.7 if "p10" in name else 0.45)
    assert float(np.mean(c.argmax(1) == labels[8000:])) > 0.85
