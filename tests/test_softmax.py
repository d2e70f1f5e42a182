"""Softmax and LogSoftmax at the output (every Keras classifier ends in one), opset 13 (last
axis) and opset 11 (axis 1 of a 2-D tensor): within 1e-6 of onnxruntime, the same class,
and equal to edgebnn's reference exactly."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgebnn

K, N = 64, 10


def build(kind: str, opset: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.choice([-1.0, 1.0], (K, N)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.uniform(0.01, 0.2, N).astype(np.float32), "scale")]
    nodes = [helper.make_node("Sign", ["x"], ["s"]), helper.make_node("MatMul", ["s", "w"], ["d"]),
             helper.make_node("Mul", ["d", "scale"], ["logits"]), helper.make_node(kind, ["logits"], ["y"])]
    graph = helper.make_graph(nodes, kind, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", K])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", N])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=7)


@pytest.mark.parametrize("kind,opset", [("Softmax", 13), ("LogSoftmax", 13), ("Softmax", 11)])
def test_softmax_matches_onnxruntime(kind, opset):
    model = build(kind, opset)
    x = np.random.default_rng(1).standard_normal((50, K)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = session.run(None, {"x": x})[0]
    got = edgebnn.compile(model).run(x)
    assert np.array_equal(got, edgebnn.reference(model).run(x).reshape(got.shape))
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_softmax_over_another_axis_is_one_clear_error(tmp_path):
    model = build("Softmax", 13)
    model.graph.node[-1].attribute.append(helper.make_attribute("axis", 0))
    with pytest.raises(edgebnn.EdgebnnError, match="last axis"):
        edgebnn.compile(model)
