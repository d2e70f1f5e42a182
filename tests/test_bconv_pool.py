"""Binary convolutions that write pooled bits (passes/pool_bits.py, the ``pooled`` kernel of
ir/ops/bconv.py, runtime_c/ebnn_opt_conv_pool.c): conv -> max-pool -> BN -> sign and
conv -> BN -> sign -> max-pool compiled with and without fusion agree with onnxruntime bit for
bit, and no int32 map exists in the lowered graph or the arena."""
from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import edgebnn
from cnn_builders import build_pool_cnn
from onnx_builders import for_onnxruntime

# (order, cin, m, hw, stride, pad, explicit_pad, pool (kernel, stride, pads))
CASES = [
    ("pool_bn", 32, 64, (9, 9), 1, 1, False, (2, 2, 0)),  # odd size: the pool drops a row and a column
    ("bn_pool", 32, 64, (9, 9), 1, 1, False, (2, 2, 0)),
    ("pool_bn", 16, 40, (8, 7), 1, 0, False, (3, 2, 0)),  # overlapping 3x3/2 windows
    ("bn_pool", 40, 33, (7, 8), 1, 1, True, (3, 2, 1)),  # Pad(value=1), padded pool
    ("pool_bn", 64, 70, (6, 6), 1, 1, False, (3, 1, 1)),  # spare channels, every pixel in 9 windows
    ("pool_bn", 20, 24, (9, 10), 2, 1, False, (2, 2, 0)),  # stride 2: not the pooled kernel
    ("bn_pool", 70, 32, (5, 7), 1, 0, True, (2, 1, 0)),  # three input words per pixel
]


def _ort(built, x):
    sess = ort.InferenceSession(for_onnxruntime(built).SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])


def _inputs(built, n=6, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + built.input_shape[1:]).astype(np.float32)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_pooled_bits_agree_with_onnxruntime(case, tmp_path):
    order, cin, m, hw, stride, pad, explicit, pool = CASES[case]
    built = build_pool_cnn(100 + case, order, cin, m, hw, stride, pad, explicit, pool)
    x = _inputs(built)
    expected = _ort(built, x)
    assert np.all(expected != 0)  # no Sign(0): every output bit is defined
    for kernels in ("optimized", "reference"):
        compiled = edgebnn.compile(built.model, target="host", kernels=kernels, out_dir=tmp_path / kernels)
        assert np.array_equal(compiled.run(x).reshape(expected.shape), expected), kernels
        assert np.array_equal(edgebnn.reference(compiled.graph).run(x).reshape(expected.shape), expected)
        g = compiled.graph
        # the max-pool runs on bits: no pooled accumulator map
        assert all(g.tensors[e.outputs[0]].dtype == "bits" for op in g.ops for e in [op, *op.epilogues]
                   if "maxpool" in (op.kind, *[f.kind for f in op.epilogues]) and e.kind == "maxpool")
        if kernels == "optimized":
            assert not any(g.tensors[t].dtype == "i32" for op in g.ops for t in op.outputs)
            conv = next(op for op in g.ops if op.kind == "bconv")
            if stride == 1:
                assert conv.label == "bconv+threshold+maxpool" and conv.attrs["c_kernel"] == "pooled"
                rows = [r for r in compiled.report["layers"] if r["op"] == "bconv"]
                assert rows[0]["epilogues"] == ["threshold", "maxpool"]


def test_pooled_kernel_under_emulation_is_bit_exact():
    """Cortex-M4 (QEMU): the pooled kernel (Thumb-2 + DSP build) gives the host's outputs and
    onnxruntime's; both pool orders and a padded, overlapping pool in one run each."""
    for case in (0, 3):
        order, cin, m, hw, stride, pad, explicit, pool = CASES[case]
        built = build_pool_cnn(100 + case, order, cin, m, hw, stride, pad, explicit, pool)
        x = _inputs(built, n=3, seed=1)
        compiled = edgebnn.compile(built.model, target="cortex-m4")
        assert "ebnn_bconv_pool_t(" in (compiled.out_dir / "model.c").read_text()
        outputs, stats = compiled.emulate(x)
        assert stats["identical"]
        assert np.array_equal(outputs.reshape(len(x), -1), _ort(built, x).reshape(len(x), -1))


@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m3"])
def test_pooled_kernel_builds_warning_free(cpu, tmp_path):
    """ARMv6-M (no DSP, no RBIT) and ARMv7-M without DSP build the pooled kernel's C."""
    built = build_pool_cnn(103, *CASES[3][:7])
    compiled = edgebnn.compile(built.model, target=cpu, out_dir=tmp_path / cpu)
    sources = sorted(str(p) for p in compiled.out_dir.glob("*.c"))
    assert any("ebnn_opt_conv_pool.c" in s for s in sources)
    cmd = ["arm-none-eabi-gcc", f"-mcpu={cpu}", "-mthumb", "-mfloat-abi=soft", "-std=c99", "-O2",
           "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{compiled.out_dir}", "-c"]
    for src in sources:
        done = subprocess.run(cmd + [src, "-o", str(tmp_path / "x.o")], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr


ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "models" / "xnor_cnn" / "xnor_cnn_dynamo.onnx"
CNN = ROOT / "tests" / "models" / "torch" / "xnor_cnn_pool_bn_dynamo.onnx"


def _live_bytes(report, layer: int) -> int:
    """Arena bytes live while ``layer`` runs (its tensors and scratch, from the plan)."""
    return sum(b["bytes"] for b in report["memory"]["planner"]["buffers"] if b["layers"][0] <= layer <= b["layers"][1])


@pytest.mark.parametrize("model, bounds", [(EXAMPLE, (7_000, 4_000)), (CNN, (7_900, 7_800))],
                         ids=["example_dynamo", "cnn_dynamo"])
def test_binary_convs_need_only_bits_and_a_small_scratch(model, bounds, tmp_path):
    """The XNOR CNNs' binary convs (conv -> max-pool -> BN -> sign) each run as one fused op whose
    live arena is its input bits, its pooled output bits and its scratch (deterministic byte
    bounds: the int32 map and the pooled int32 map of before are gone), and their stack stays
    within 512 B."""
    compiled = edgebnn.compile(model, target="cortex-m4", out_dir=tmp_path / "out")
    rep = compiled.report
    convs = [i for i, r in enumerate(rep["layers"]) if r["op"] == "bconv"]
    assert len(convs) == 2
    for i, bound in zip(convs, bounds):
        assert rep["layers"][i]["epilogues"] == ["threshold", "maxpool"]
        assert _live_bytes(rep, i) <= bound
    chain = rep["memory"]["stack_chain"]  # the deepest call chain: the convs' part is within 512 B
    assert rep["memory"]["stack_bytes"] <= 512 or not any("bconv" in f for f in chain), chain


def test_cnn_binary_convs_under_emulation():
    """The CNN of issue 18 on Cortex-M4 (QEMU -icount, deterministic instruction counts): outputs
    identical to the host build and onnxruntime's classes; its two binary convs with their fused
    threshold and pooling within fixed instruction bounds (about 5.9 and 6.6 binary MACs per
    instruction when written)."""
    compiled = edgebnn.compile(CNN, target="cortex-m4")
    x = np.random.default_rng(0).standard_normal((2, 1, 28, 28)).astype(np.float32)
    outputs, stats = compiled.emulate(x)
    assert stats["identical"]
    sess = ort.InferenceSession(str(CNN), providers=["CPUExecutionProvider"])
    expected = np.concatenate([sess.run(None, {sess.get_inputs()[0].name: x[i:i + 1]})[0] for i in range(len(x))])
    assert np.array_equal(outputs.reshape(len(x), -1).argmax(axis=1), expected.reshape(len(x), -1).argmax(axis=1))
    convs = [i for i, r in enumerate(compiled.report["layers"]) if r["op"] == "bconv"]
    counts = [stats["per_layer_instructions"][i] for i in convs]
    assert counts[0] <= 2_600_000 and counts[1] <= 1_200_000, counts
