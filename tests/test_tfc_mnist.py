"""Acceptance: FINN TFC-W1A1 compiled to C agrees with an independent ONNX evaluation on all of
the MNIST test set, and its weights cost about one bit per binary parameter.

The independent evaluation is onnxruntime on the graph with the QONNX custom ops rewritten from
their published spec (tests/qonnx_spec.py), sharing no code with edgebnn.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))

from mnist_data import load_mnist_test, tfc_inputs  # noqa: E402
from qonnx_spec import run_onnxruntime, to_standard_onnx  # noqa: E402

pytest.importorskip("onnxruntime")
edgebnn = pytest.importorskip("edgebnn")

MODEL = ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"

BINARY_PARAMS = 784 * 64 + 64 * 64 + 64 * 64 + 64 * 10            # 59,008
HIDDEN_CHANNELS = 3 * 64                                          # one threshold each
THRESHOLD_BYTES = HIDDEN_CHANNELS * 4 + -(-HIDDEN_CHANNELS // 8)  # int32 + 1 flag bit each


@pytest.fixture(scope="module")
def tfc(tmp_path_factory):
    images, labels = load_mnist_test()
    x = tfc_inputs(images)
    compiled = edgebnn.compile(str(MODEL), target="cortex-m4",
                               out_dir=tmp_path_factory.mktemp("tfc") / "out")
    c_out = np.asarray(compiled.run(x))
    ort_out = run_onnxruntime(to_standard_onnx(onnx.load(str(MODEL))), x)
    ref_out = np.asarray(edgebnn.reference(str(MODEL)).run(x))
    return dict(labels=labels, compiled=compiled, c=c_out, ort=ort_out, ref=ref_out)


def test_shapes(tfc):
    n = tfc["labels"].shape[0]
    assert n == 10_000
    for key in ("c", "ort", "ref"):
        assert tfc[key].shape == (n, 10), key
        assert tfc[key].dtype == np.float32, key


def test_same_class_on_every_image(tfc):
    c_cls, ort_cls = tfc["c"].argmax(1), tfc["ort"].argmax(1)
    differ = np.flatnonzero(c_cls != ort_cls)
    assert differ.size == 0, f"{differ.size} images differ, first {differ[:10].tolist()}"
    np.testing.assert_array_equal(tfc["ref"].argmax(1), ort_cls)


def test_scores_within_1e_5_relative(tfc):
    c, ort = tfc["c"], tfc["ort"]
    atol = 1e-5 * float(np.abs(ort).max())
    print(f"\nTFC max |C - ORT| = {np.abs(c - ort).max():.3g} (atol {atol:.3g})")
    np.testing.assert_allclose(c, ort, rtol=1e-5, atol=atol)


def test_accuracy(tfc):
    labels = tfc["labels"]
    acc_c = float((tfc["c"].argmax(1) == labels).mean())
    acc_ort = float((tfc["ort"].argmax(1) == labels).mean())
    print(f"\nTFC-W1A1 MNIST accuracy: C {acc_c:.4f}, onnxruntime (QONNX spec) {acc_ort:.4f}, "
          "published 0.9317")
    assert 0.90 <= acc_c <= 0.95
    assert acc_c == acc_ort


def test_weight_bytes_about_one_bit_per_parameter(tfc):
    report = tfc["compiled"].report
    layers = report["layers"]
    weight_bytes = sum(int(layer["weight_bytes"]) for layer in layers)
    expected = BINARY_PARAMS / 8 + THRESHOLD_BYTES
    print(f"\nTFC weight bytes: {weight_bytes} over {len(layers)} layers; binary params/8 = "
          f"{BINARY_PARAMS // 8}, + thresholds {THRESHOLD_BYTES} = {expected:.0f} "
          f"(ratio {weight_bytes / expected:.3f})")
    for layer in layers:
        print(f"  {layer['name']:<24} {layer['op']:<16} {layer['weight_bytes']:>6} B "
              f"{layer.get('bits_per_weight')}")
    assert 0.9 * expected <= weight_bytes <= 1.1 * expected
