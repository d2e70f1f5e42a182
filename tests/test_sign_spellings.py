"""The zero-fix spelling of sign, ``s = Sign(x); s + Cast(Equal(s, 0))`` (+1 at 0, as
edgebnn maps Sign(0)): recognised as one binarizer, and exact against onnxruntime even on
inputs that are exactly 0."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import edgebnn


def _zero_fix(x: str, y: str) -> list:
    return [helper.make_node("Sign", [x], [y + "_s"]),
            helper.make_node("Equal", [y + "_s", "zero"], [y + "_eq"]),
            helper.make_node("Cast", [y + "_eq"], [y + "_c"], to=TensorProto.FLOAT),
            helper.make_node("Add", [y + "_s", y + "_c"], [y])]


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(np.float32(0), "zero"),
             numpy_helper.from_array(rng.choice([-1.0, 1.0], (16, 8)).astype(np.float32), "w0"),
             numpy_helper.from_array(rng.choice([-1.0, 1.0], (8, 4)).astype(np.float32), "w1")]
    for name, value in (("g", rng.uniform(0.3, 1.5, 8) * rng.choice([-1, 1], 8)), ("b", rng.uniform(-1, 1, 8)),
                        ("m", rng.integers(-3, 4, 8)), ("v", rng.uniform(0.5, 2, 8))):
        inits.append(numpy_helper.from_array(value.astype(np.float32), "bn_" + name))
    nodes = _zero_fix("x", "a0") + [
        helper.make_node("MatMul", ["a0", "w0"], ["d0"]),
        helper.make_node("BatchNormalization", ["d0", "bn_g", "bn_b", "bn_m", "bn_v"], ["n0"])]
    nodes += _zero_fix("n0", "a1") + [helper.make_node("MatMul", ["a1", "w1"], ["y"])]
    graph = helper.make_graph(nodes, "zero_fix", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_zero_fix_sign_is_one_binarizer_and_exact_at_zero():
    model = build()
    x = np.random.default_rng(1).integers(-2, 3, (64, 16)).astype(np.float32)  # many exact zeros
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    compiled = edgebnn.compile(model)
    assert [r["op"] for r in compiled.report["layers"] if r["binary_macs"]] == ["bdense", "bdense"]
    assert np.array_equal(compiled.run(x), expected)
