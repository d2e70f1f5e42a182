"""Depthwise and grouped convolutions of real-valued activations (QuickNet, MobileNet-style
stems) and the global-pooling spellings (GlobalMaxPool, ReduceMax / ReduceMean over H, W)
against onnxruntime; a grouped binary convolution is one clear error."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgebnn


def build(binary_group: bool = False, seed: int = 0):
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(np.float32), "dw"),
             numpy_helper.from_array(rng.standard_normal((8, 2, 3, 3)).astype(np.float32), "gw"),
             numpy_helper.from_array(rng.choice([-1.0, 1.0], (8, 4 if binary_group else 8, 3, 3)).astype(np.float32),
                                     "bw")]
    nodes = [helper.make_node("Conv", ["x", "dw"], ["d"], group=4, pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["d", "gw"], ["g"], group=2, strides=[2, 2], pads=[1, 1, 1, 1])]
    if binary_group:  # sign -> a grouped binary conv
        nodes += [helper.make_node("Sign", ["g"], ["s"]), helper.make_node("Conv", ["s", "bw"], ["b"], group=2)]
    nodes.append(helper.make_node("Flatten", [nodes[-1].output[0]], ["y"]))
    n = 8 * 3 * 3 if binary_group else 8 * 5 * 5
    graph = helper.make_graph(nodes, "grouped", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 9, 9])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_depthwise_and_grouped_real_convs_match_onnxruntime():
    model = build()
    x = np.random.default_rng(1).standard_normal((16, 4, 9, 9)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    got = edgebnn.compile(model).run(x)
    assert np.array_equal(got, edgebnn.reference(model).run(x).reshape(got.shape))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))


def test_a_grouped_binary_conv_is_one_clear_error():
    with pytest.raises(edgebnn.EdgebnnError, match="group=2"):
        edgebnn.compile(build(binary_group=True))


def _pool_model(kind: str, keepdims: int):
    rng = np.random.default_rng(4)
    inits = [numpy_helper.from_array(rng.standard_normal((6, 3, 3, 3)).astype(np.float32), "w"),
             numpy_helper.from_array(np.array([2, 3], np.int64), "axes")]
    conv = helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1])
    if kind == "GlobalMaxPool":
        pool = [helper.make_node("GlobalMaxPool", ["c"], ["p"])]
    else:  # opset 18: axes as an input
        pool = [helper.make_node(kind, ["c", "axes"], ["p"], keepdims=keepdims)]
    out = [helper.make_node("Flatten", ["p"], ["y"])] if keepdims else [helper.make_node("Identity", ["p"], ["y"])]
    graph = helper.make_graph([conv] + pool + out, kind, [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                         [1, 3, 7, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8)


@pytest.mark.parametrize("kind,keepdims", [("GlobalMaxPool", 1), ("ReduceMax", 1), ("ReduceMax", 0),
                                           ("ReduceMean", 0)])
def test_global_pooling_spellings_match_onnxruntime(kind, keepdims):
    model = _pool_model(kind, keepdims)
    x = np.random.default_rng(5).standard_normal((10, 3, 7, 7)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    got = edgebnn.compile(model).run(x)
    np.testing.assert_allclose(got, expected.reshape(got.shape), rtol=1e-5, atol=1e-6)
