"""Issues 18/19, dense side: the short dense kernel (rows of <= 4 words, thresholds folded per
output), the transposed kernel's bounds and arena list, the bit-pattern float binarize and the
tabulated output affine agree with onnxruntime on the host and run bit-identical under QEMU;
TFC-W1A1 stays within its instruction (QEMU -icount) and stack budgets.

Every comparison is against onnxruntime (or the host build of the same C for emulation).
Needs the emulation toolchain (scripts/setup.sh), like tests/test_emulate.py.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgebnn
from onnx_builders import WEIGHT_FORMS
from test_property_mlp import _build, check_against_onnxruntime

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from mnist_data import load_mnist_test, tfc_inputs  # noqa: E402

TFC = ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"


def _text(compiled) -> str:
    return (compiled.out_dir / "model.c").read_text()


@pytest.mark.parametrize("k0,hidden", [(40, [64, 37]), (100, [128]), (64, [96, 32, 70]), (300, [33])])
def test_short_rows_match_onnxruntime_and_emulate(k0, hidden):
    """Rows of 1..4 words (BN with both slopes -> pre-negated rows) and a wide first layer."""
    built = _build("sign", dict(seed=k0, k0=k0, hidden=hidden, n_out=10, input_stage="binarized",
                                input_layout="flat", weight_forms=[WEIGHT_FORMS[0]] * (len(hidden) + 1),
                                output="real_bn", bias=False, preprocess=False))
    check_against_onnxruntime(built, k0, in_hypothesis=False)
    compiled = edgebnn.compile(built.model, target="cortex-m4", allow_overflow=True)
    assert "ebnn_bdense_thr_short(" in _text(compiled) or "ebnn_bdense_bnd_t(" in _text(compiled)
    x = np.random.default_rng(k0).normal(size=(3,) + built.input_shape[1:]).astype(np.float32)
    outputs, stats = compiled.emulate(x)
    assert stats["identical"] and np.array_equal(outputs, compiled.run(x))


def _threshold_model(k: int, n: int, seed: int):
    """x -> Mul 2 -> Sub 1 -> Where(x >= 0, 1, -1) -> MatMul (+-1): the binarizer of TFC's
    input, exact in onnxruntime for every float (NaN compares false)."""
    w = np.where(np.random.default_rng(seed).random((k, n)) < 0.5, 1.0, -1.0).astype(np.float32)
    inits = [numpy_helper.from_array(np.array(v, np.float32), name) for name, v in
             (("two", 2.0), ("one", 1.0), ("zero", 0.0), ("p1", 1.0), ("m1", -1.0))]
    inits.append(numpy_helper.from_array(w, "w"))
    nodes = [helper.make_node("Mul", ["x", "two"], ["a"]), helper.make_node("Sub", ["a", "one"], ["b"]),
             helper.make_node("GreaterOrEqual", ["b", "zero"], ["c"]),
             helper.make_node("Where", ["c", "p1", "m1"], ["s"]), helper.make_node("MatMul", ["s", "w"], ["y"])]
    g = helper.make_graph(nodes, "thr", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def _special_inputs(k: int, rows: int, seed: int) -> np.ndarray:
    """Uniform [0, 1] pixels mixed with the floats a bit-pattern compare could get wrong."""
    rng = np.random.default_rng(seed)
    special = np.array([0.5, np.nextafter(np.float32(0.5), np.float32(0)), np.nextafter(np.float32(0.5), np.float32(1)),
                        0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan, 1e-45, -1e-45, -0.5, 3e38, -3e38, 1.0],
                       np.float32)
    x = rng.random((rows, k)).astype(np.float32)
    mask = rng.random((rows, k)) < 0.4
    x[mask] = rng.choice(special, size=int(mask.sum()))
    x[0, :len(special)] = special[:k]
    neg_nan = np.array([0xFFC00001], np.uint32).view(np.float32)[0]
    x[1, 0] = neg_nan
    return x


def _check_kernel(model, x, function: str):
    """model compiled for cortex-m4 calls ``function``; its outputs on x are onnxruntime's on
    the host and, bit-identical, under QEMU.  Returns the compiled model."""
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    compiled = edgebnn.compile(model, target="cortex-m4", allow_overflow=True)
    assert function in _text(compiled)
    assert np.array_equal(compiled.run(x), expected)
    outputs, stats = compiled.emulate(x)
    assert stats["identical"] and np.array_equal(outputs, expected)
    return compiled


@pytest.mark.parametrize("k", [37, 40, 784])
def test_bit_pattern_binarize_matches_onnxruntime(k):
    _check_kernel(_threshold_model(k, 12, k), _special_inputs(k, 5, k), "ebnn_binarize_bits_f32(")


def test_tfc_instructions_and_stack():
    """TFC-W1A1 on cortex-m4: <= 11,000 instructions per inference (QEMU -icount, float input),
    bit-identical to the host build, and <= 512 B of measured stack."""
    images, _ = load_mnist_test()
    compiled = edgebnn.compile(TFC, target="cortex-m4")
    assert compiled.report["memory"]["stack_bytes"] <= 512
    _, stats = compiled.emulate(tfc_inputs(images[:4]))
    assert stats["identical"]
    assert stats["instructions_per_inference"] <= 11_000


@pytest.mark.parametrize("k,n", [(784, 64), (1000, 40)])
def test_transposed_list_by_nibbles_matches_onnxruntime(k, n):
    """The transposed kernel lists dense inputs a nibble at a time on Thumb-2 (a few set bits
    still one by one): random rows (about half the bits set), all set (the clear bits listed,
    padding included), none, 56 % / 44 % set, and rows whose sampled words mislead the choice
    of bits to list, against onnxruntime, bit-identical under QEMU; 784 -> 64 on random rows within 8,800 instructions (QEMU -icount) on cortex-m4."""
    rng = np.random.default_rng(k)
    x = rng.random((10, k)).astype(np.float32)
    x[2], x[3] = 1.0, 0.0
    x[4] = (rng.random(k) < 0.56).astype(np.float32)
    x[5] = (rng.random(k) < 0.44).astype(np.float32)
    # every fourth word clear, the others set (and the reverse): the kernel's guess of the
    # fewer bits, made from those words, is wrong, and listing them would pass the list's end
    sampled = (np.arange(k) // 32) % 4 == 0
    x[6], x[7] = np.where(sampled, 0.0, 1.0), np.where(sampled, 1.0, 0.0)
    low = np.arange(k) % 32 < 15  # sampled words just under half set: listed by nibbles
    x[8], x[9] = np.where(sampled, low, 1.0), np.where(sampled, ~low, 0.0)
    compiled = _check_kernel(_threshold_model(k, n, k), x, "ebnn_bdense_t(")
    if k == 784:
        i = next(j for j, r in enumerate(compiled.report["layers"]) if r["op"] == "bdense")
        assert compiled.emulate(x[:2])[1]["per_layer_instructions"][i] <= 8_800
