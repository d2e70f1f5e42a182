"""The pooled binary conv's arena scratch (ebnn_bconv_pool_t: 16-bit list entries, a ring of
k_w columns): a deterministic byte bound on the bundled example, and rows wide enough that
the entries must be rebased to stay within 16 bits, checked against onnxruntime on the host
and under emulation."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgebnn
from cnn_builders import build_pool_cnn
from onnx_builders import for_onnxruntime

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "models" / "xnor_cnn" / "xnor_cnn_dynamo.onnx"

# (cin, m, (H, W)): 128 columns; 242 listed columns of 3 * (3 * 32 + 1) entries > 2^16, so the
# entries are rebased to the band's first live column while a row is listed
WIDE = [(32, 32, (5, 128)), (96, 40, (3, 240))]


def _scratch(report, layer: int) -> int:
    return next(b["bytes"] for b in report["memory"]["planner"]["buffers"] if b["name"] == f"scratch of layer {layer}")


def test_example_pooled_conv_scratch_is_a_few_hundred_bytes(tmp_path):
    """examples/models/xnor_cnn for Cortex-M4, default options: the 16 -> 32 channel pooled
    conv on 28x28 needs at most 640 B of scratch (it was 1,664 B with 32-bit entries)."""
    compiled = edgebnn.compile(EXAMPLE, target="cortex-m4", out_dir=tmp_path / "out")
    rep = compiled.report
    convs = [i for i, r in enumerate(rep["layers"]) if r["op"] == "bconv"]
    ops = [op for op in compiled.graph.ops if op.kind == "bconv"]
    assert [op.attrs["c_kernel"] for op in ops] == ["pooled", "pooled"]
    assert compiled.graph.tensors[ops[0].inputs[0]].channels == 16
    assert _scratch(rep, convs[0]) <= 640
    assert _scratch(rep, convs[1]) <= 1024  # 32 -> 32 on 14x14


def _ort(built, x):
    sess = ort.InferenceSession(for_onnxruntime(built).SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])


def _wide(case: int):
    cin, m, hw = WIDE[case]
    built = build_pool_cnn(300 + case, "pool_bn", cin, m, hw, 1, 1, False, (2, 2, 0))
    x = np.random.default_rng(case).standard_normal((2,) + built.input_shape[1:]).astype(np.float32)
    return built, x


@pytest.mark.parametrize("case", range(len(WIDE)))
def test_wide_rows_agree_with_onnxruntime(case, tmp_path):
    built, x = _wide(case)
    compiled = edgebnn.compile(built.model, target="host", out_dir=tmp_path / "out")
    conv = next(op for op in compiled.graph.ops if op.kind == "bconv")
    assert conv.attrs["c_kernel"] == "pooled"
    cin, _, (_, w) = WIDE[case]
    col = 3 * (32 * ((cin + 31) // 32) + 1)  # entries of one listed column's 3 taps
    assert ((w + 2) * col > 65536) == (case == 1)
    expected = _ort(built, x)
    assert np.all(expected != 0)
    assert np.array_equal(compiled.run(x).reshape(expected.shape), expected)


def test_rebased_entries_under_emulation_are_bit_exact():
    """Cortex-M4 (QEMU, the Thumb-2 list and sums): the rebased wide rows give the host's
    outputs and onnxruntime's."""
    built, x = _wide(1)
    compiled = edgebnn.compile(built.model, target="cortex-m4", sram="1MiB")  # 270 KB of float input
    outputs, stats = compiled.emulate(x)
    assert stats["identical"]
    assert np.array_equal(outputs.reshape(len(x), -1), _ort(built, x).reshape(len(x), -1))


def test_long_dense_rows_count_past_256_on_the_host(tmp_path):
    """The lane sums shared with the transposed dense kernel (ebnn_opt_vsum) zero their planes
    above 2^11 themselves: a 1024-input layer (about 512 listed inputs, so counts past 256 read
    the planes above 2^7) against onnxruntime."""
    rng = np.random.default_rng(7)
    w = numpy_helper.from_array(np.where(rng.random((1024, 64)) < 0.5, 1.0, -1.0).astype(np.float32), "w")
    nodes = [helper.make_node("Sign", ["x"], ["a"]), helper.make_node("MatMul", ["a", "w"], ["y"])]
    g = helper.make_graph(nodes, "dense", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1024])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], initializer=[w])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    x = rng.standard_normal((3, 1024)).astype(np.float32)
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    compiled = edgebnn.compile(model, target="host", out_dir=tmp_path / "out")
    assert np.array_equal(compiled.run(x).reshape(expected.shape), expected)
