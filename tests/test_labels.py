"""Class labels as the output: ArgMax (keepdims 0 and 1) and TopK(k=1)'s indices, an int32
output (`model_output_t`), equal to onnxruntime's indices; clean under ASan/UBSan."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgebnn

K, N = 48, 10


def build(kind: str, keepdims: int = 1, seed: int = 0):
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.choice([-1.0, 1.0], (K, N)).astype(np.float32), "w"),
             numpy_helper.from_array(rng.uniform(0.5, 1.5, N).astype(np.float32), "scale"),
             numpy_helper.from_array(np.array([1], np.int64), "k")]
    nodes = [helper.make_node("Sign", ["x"], ["s"]), helper.make_node("MatMul", ["s", "w"], ["d"]),
             helper.make_node("Mul", ["d", "scale"], ["logits"])]
    if kind == "TopK":
        nodes.append(helper.make_node("TopK", ["logits", "k"], ["values", "y"], axis=-1))
    else:
        nodes.append(helper.make_node("ArgMax", ["logits"], ["y"], axis=1, keepdims=keepdims))
    out_shape = ["batch", 1] if kind == "TopK" or keepdims else ["batch"]
    graph = helper.make_graph(nodes, kind, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", K])],
                              [helper.make_tensor_value_info("y", TensorProto.INT64, out_shape)], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=7)


@pytest.mark.parametrize("kind,keepdims", [("ArgMax", 1), ("ArgMax", 0), ("TopK", 1)])
def test_label_outputs_match_onnxruntime(kind, keepdims):
    model = build(kind, keepdims)
    x = np.random.default_rng(1).standard_normal((64, K)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0].reshape(1, -1) for i in range(len(x))])
    compiled = edgebnn.compile(model)
    got = compiled.run(x)
    assert got.dtype == np.int32 and np.array_equal(got.reshape(expected.shape), expected)
    assert np.array_equal(got, edgebnn.reference(model).run(x).reshape(got.shape))


def test_label_output_is_clean_under_asan_and_ubsan():
    from edgebnn.check import harness

    model = build("TopK")
    compiled = edgebnn.compile(model)
    x = np.random.default_rng(2).standard_normal((4, K)).astype(np.float32)
    y = harness.sanitized_run(compiled.out_dir, x)
    assert y.dtype == np.int32 and np.array_equal(y, compiled.run(x))
