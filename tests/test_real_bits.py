"""A real-valued first layer fused with its max-pool and BatchNorm + sign (ir/ops/real_bits.py,
runtime_c/ebnn_fconv.c): the conv or dense kernel writes the bits, its float map is never
stored, and the bits are those onnxruntime computes, bit for bit (dyadic models,
first_layer_builders.py: every float sum is exact in any order)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import edgebnn
from first_layer_builders import first_conv, first_dense, inputs

CONVS = [  # the 3x3 one-channel rows (four pixels, pairs, border blocks), then any window
    dict(zero_gamma=False, hw=(9, 11)),
    dict(zero_gamma=False, hw=(6, 7), m=40, pads=(0, 2, 1, 0)),
    dict(zero_gamma=False, stride=2, hw=(11, 10)),
    dict(zero_gamma=False, dilation=2, hw=(10, 10), pads=(2, 2, 2, 2)),
    dict(zero_gamma=False, nhwc=True, hw=(8, 9)),
    dict(hw=(9, 11)),
    dict(c=3, k=5, stride=2, pads=(2, 1, 0, 2), hw=(12, 11)),
    dict(c=3, m=40, hw=(8, 7), zero_gamma=False),
    dict(c=4, k=1, pads=(0, 0, 0, 0), bias=False),
    dict(c=3, nhwc=True, zero_gamma=False),
    dict(pool=2, zero_gamma=False),
    dict(pool=2, m=33, hw=(11, 13)),
    dict(pool=3, c=3, k=3, stride=2, hw=(13, 12), zero_gamma=False),
    dict(pool=2, c=4, k=5, pads=(2, 2, 2, 2), hw=(10, 9)),
]


def _onnxruntime(model, x):
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # no fused Conv + BatchNorm
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(None, {"x": row[None]})[0] for row in x])


def _first_row(compiled):
    row = compiled.report["layers"][0]
    return row["op"], row.get("epilogues", [])


@pytest.mark.parametrize("case", range(len(CONVS)))
def test_fused_conv_matches_onnxruntime_bit_for_bit(case):
    built = first_conv(case, **CONVS[case])
    x = inputs(np.random.default_rng(case), built, 6)
    compiled = edgebnn.compile(built.model, target="cortex-m4")
    assert _first_row(compiled) == ("conv", ["maxpool", "binarize"] if CONVS[case].get("pool") else ["binarize"])
    y = compiled.run(x)
    assert np.array_equal(y, _onnxruntime(built.model, x).reshape(y.shape))
    assert np.array_equal(y, edgebnn.reference(built.model).run(x).reshape(y.shape))


@pytest.mark.parametrize("k,n,zero_gamma", [(20, 40, False), (20, 37, True), (33, 5, False), (9, 70, True)])
def test_fused_dense_matches_onnxruntime_bit_for_bit(k, n, zero_gamma):
    built = first_dense(n, k, n, zero_gamma=zero_gamma)
    x = inputs(np.random.default_rng(7), built, 16)
    compiled = edgebnn.compile(built.model, target="cortex-m4")
    assert _first_row(compiled) == ("dense", ["binarize"])
    y = compiled.run(x)
    assert np.array_equal(y, _onnxruntime(built.model, x).reshape(y.shape))


def test_the_float_map_is_not_in_the_plan():
    """The CNN's first layer shape (1 -> 32, 3x3, 28x28): the arena holds its bits (3,136 B),
    the next layer's output and the kernel's scratch, never the 100,352 B float map."""
    built = first_conv(3, c=1, m=32, hw=(28, 28), pool=None, zero_gamma=False)
    report = edgebnn.compile(built.model, target="cortex-m4", allow_overflow=True).report
    memory = report["memory"]
    bits, ints = 28 * 28 * 32 // 8, 28 * 28 * 3 * 4
    assert memory["arena_bytes"] <= bits + ints + 128
    assert all(b["bytes"] < 28 * 28 * 32 * 4 for b in memory["planner"]["buffers"])


def test_pool_affine_moves_into_the_binarizer():
    """conv + bias -> MaxPool -> BN -> Sign: the bias (an affine op after the conv) moves past
    the pool into the binarizer's chain, so the whole layer is one fused op."""
    report = edgebnn.compile(first_conv(4, pool=2).model, target="cortex-m4").report
    assert [r["op"] for r in report["layers"]][:2] == ["conv", "bconv"]
    reference = edgebnn.compile(first_conv(4, pool=2).model, target="cortex-m4", kernels="reference").report
    assert [r["op"] for r in reference["layers"]][:4] == ["conv", "affine", "maxpool", "binarize"]


@pytest.mark.parametrize("case", [0, 11, 12])
def test_special_values_as_the_reference(case):
    """Infinities, NaN and huge inputs (sums that overflow) give the reference's bits."""
    built = first_conv(case, **CONVS[case])
    rng = np.random.default_rng(11)
    x = inputs(rng, built, 6)
    flat = x.reshape(len(x), -1)
    flat[1, rng.integers(0, flat.shape[1], 5)] = np.inf
    flat[2, rng.integers(0, flat.shape[1], 5)] = -np.inf
    flat[3, rng.integers(0, flat.shape[1], 5)] = np.nan
    flat[4] *= np.float32(3e37)
    compiled = edgebnn.compile(built.model, target="cortex-m4")
    y = compiled.run(x)
    assert np.array_equal(y, edgebnn.reference(built.model).run(x).reshape(y.shape), equal_nan=True)


def test_fused_layers_on_an_emulated_cortex_m4():
    """The kernels build warning-free with arm-none-eabi-gcc and compute the same bits on the
    M4 (FPU, -ffp-contract=off): the four-pixel 3x3 rows, four 3-channel windows at a time,
    the 3x3 + 2x2 pool block with negated channels and the two-sided comparison of zero gammas
    (needs the toolchain and QEMU of scripts/setup.sh)."""
    for case in (0, 7, 10, 11):
        built = first_conv(case, **CONVS[case])
        x = inputs(np.random.default_rng(case), built, 3)
        outputs, stats = edgebnn.compile(built.model, target="cortex-m4").emulate(x)
        assert stats["identical"]
        assert np.array_equal(outputs, _onnxruntime(built.model, x).reshape(outputs.shape))


EXPORTED = [f"examples/models/xnor_cnn/xnor_cnn_{e}.onnx" for e in ("dynamo", "torchscript")] + \
    [f"tests/models/torch/xnor_cnn_pool_bn_{e}.onnx" for e in ("dynamo", "torchscript")]


@pytest.mark.parametrize("name", EXPORTED)
def test_exported_first_layers_are_fused(name):
    """Both PyTorch exporters' XNOR CNNs: the first conv writes its bits (no planned buffer
    holds its float map), and the C agrees with the reference and onnxruntime's classes."""
    path = str(Path(__file__).resolve().parents[1] / name)
    compiled = edgebnn.compile(path, target="cortex-m4", allow_overflow=True)
    assert _first_row(compiled) == ("conv", ["binarize"])
    float_map = compiled.graph.ops[0].result
    assert all(float_map not in b["tensors"] for b in compiled.report["memory"]["planner"]["buffers"])
    x = np.random.default_rng(2).random((4, 1, 28, 28)).astype(np.float32)
    y = compiled.run(x)
    assert np.array_equal(y, edgebnn.reference(path).run(x).reshape(y.shape))
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    y_ort = np.concatenate([s.run(None, {s.get_inputs()[0].name: row[None]})[0] for row in x])
    assert np.array_equal(y.reshape(len(x), -1).argmax(axis=1), y_ort.reshape(len(x), -1).argmax(axis=1))
