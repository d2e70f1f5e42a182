"""The ``relu`` op (edgebnn/ir/ops/relu.py, runtime_c/ebnn_real.c): ONNX Relu on float tensors,
after real-valued layers, exactly as onnxruntime computes it (the example of CONTRIBUTING.md,
"Adding an op").

Weights and inputs are dyadic (k / 8), so every float sum is exact in any order and the C,
the reference and onnxruntime agree bit for bit."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgebnn


def _dyadic(rng, shape, top=16):
    return (rng.integers(-top, top + 1, shape) / 8).astype(np.float32)


def _model(nodes, inits, x_shape, y_shape):
    graph = helper.make_graph(nodes, "relu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(y_shape))],
                              [numpy_helper.from_array(v, k) for k, v in inits.items()])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def dense_model(rng):
    """x (1, 24) -> Gemm -> Relu -> Gemm -> Relu: real-valued layers with ReLU between."""
    inits = {"w0": _dyadic(rng, (24, 16)), "b0": _dyadic(rng, 16), "w1": _dyadic(rng, (16, 5)), "b1": _dyadic(rng, 5)}
    nodes = [helper.make_node("Gemm", ["x", "w0", "b0"], ["h"]), helper.make_node("Relu", ["h"], ["r"]),
             helper.make_node("Gemm", ["r", "w1", "b1"], ["o"]), helper.make_node("Relu", ["o"], ["y"])]
    return _model(nodes, inits, (1, 24), (1, 5))


def conv_model(rng):
    """x (1, 2, 6, 6) -> Conv 3x3 -> Relu -> Flatten -> Gemm: ReLU on an NHWC tensor."""
    inits = {"w": _dyadic(rng, (4, 2, 3, 3)), "b": _dyadic(rng, 4), "wd": _dyadic(rng, (64, 3))}
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3]),
             helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Flatten", ["r"], ["f"], axis=1),
             helper.make_node("MatMul", ["f", "wd"], ["y"])]
    return _model(nodes, inits, (1, 2, 6, 6), (1, 3))


def binary_model(rng):
    """Sign -> binary MatMul -> BatchNormalization -> Relu: ReLU after a binary layer's BatchNorm."""
    c = 12
    inits = {"w": rng.choice([-1.0, 1.0], (40, c)).astype(np.float32), "g": _dyadic(rng, c),
             "be": _dyadic(rng, c), "m": _dyadic(rng, c), "v": np.full(c, 1.0, np.float32)}
    nodes = [helper.make_node("Sign", ["x"], ["s"]), helper.make_node("MatMul", ["s", "w"], ["d"]),
             helper.make_node("BatchNormalization", ["d", "g", "be", "m", "v"], ["n"]),
             helper.make_node("Relu", ["n"], ["y"])]
    return _model(nodes, inits, (1, 40), (1, c))


def sign_model(rng):
    """Sign -> Relu -> MatMul: ReLU of ±1 activations (unpacked to floats first)."""
    inits = {"w": _dyadic(rng, (20, 6))}
    nodes = [helper.make_node("Sign", ["x"], ["s"]), helper.make_node("Relu", ["s"], ["r"]),
             helper.make_node("MatMul", ["r", "w"], ["y"])]
    return _model(nodes, inits, (1, 20), (1, 6))


def _onnxruntime(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # no fused BatchNorm
    s = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(None, {"x": row[None]})[0] for row in x])


def _bits(a: np.ndarray) -> bytes:
    return np.ascontiguousarray(a, np.float32).tobytes()


def _inputs(rng, model, n):
    """Dyadic inputs without exact zeros (ONNX Sign(0) is 0, edgebnn's +1)."""
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    x = _dyadic(rng, (n, *shape[1:]), top=24)
    return np.where(x == 0, np.float32(0.125), x)


@pytest.mark.parametrize("build", [dense_model, conv_model, binary_model, sign_model])
def test_relu_matches_onnxruntime_exactly(build):
    rng = np.random.default_rng(3)
    model = build(rng)
    x = _inputs(rng, model, 32)
    compiled = edgebnn.compile(model, target="cortex-m4")
    assert [r["op"] for r in compiled.report["layers"]].count("relu") == len(
        [n for n in model.graph.node if n.op_type == "Relu"])
    c = compiled.run(x)
    assert _bits(c) == _bits(_onnxruntime(model, x).reshape(c.shape))
    assert _bits(c) == _bits(edgebnn.reference(model).run(x))
    if model.graph.node[-1].op_type == "Relu":  # both sides of the last ReLU were taken
        assert np.any(c == 0) and np.any(c > 0)


def test_relu_keeps_onnx_semantics_on_special_values():
    """-0, NaN and infinities pass as onnxruntime passes them (a negative value becomes +0)."""
    model = _model([helper.make_node("Relu", ["x"], ["y"])], {}, (1, 8), (1, 8))
    x = np.array([[-0.0, 0.0, np.nan, np.inf, -np.inf, -1.5, 2.5, -1e-45]], np.float32)
    c = edgebnn.compile(model, target="cortex-m4").run(x)
    assert _bits(c) == _bits(_onnxruntime(model, x))


def test_relu_runs_in_place():
    """Between two layers the ReLU overwrites its input (the last one writes the caller's output)."""
    report = edgebnn.compile(dense_model(np.random.default_rng(3)), target="cortex-m4").report
    assert [r["in_place"] for r in report["layers"] if r["op"] == "relu"] == [True, False]


def test_relu_on_an_emulated_cortex_m4():
    """The kernel builds warning-free with arm-none-eabi-gcc and computes the same on the M4
    (needs the toolchain and QEMU of scripts/setup.sh)."""
    rng = np.random.default_rng(5)
    model = conv_model(rng)
    x = _inputs(rng, model, 4)
    compiled = edgebnn.compile(model, target="cortex-m4")
    outputs, stats = compiled.emulate(x)
    assert stats["identical"] and _bits(outputs) == _bits(_onnxruntime(model, x).reshape(outputs.shape))
