"""Cutting and joining activations: Split, Slice with steps, Concat along channels and along
a flat axis, a constant Pad of the channel axis; against onnxruntime, and the C equal to the
reference exactly."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import edgebnn


def build(seed: int = 0):
    rng = np.random.default_rng(seed)
    c = lambda name, v, t=np.float32: numpy_helper.from_array(np.asarray(v, t), name)  # noqa: E731
    inits = [c("w0", rng.standard_normal((8, 3, 3, 3))), c("split", [3, 5], np.int64),
             c("starts", [0, 1], np.int64), c("ends", [8, 7], np.int64), c("axes", [2, 3], np.int64),
             c("steps", [2, 1], np.int64), c("pads", [0, 1, 0, 0, 0, 2, 0, 0], np.int64), c("half", 0.5),
             c("wb", rng.choice([-1.0, 1.0], (11, 11, 3, 3))), c("fc", rng.standard_normal((11 * 4 * 6 + 8 * 64, 5)))]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1]),
             helper.make_node("Split", ["c0", "split"], ["a", "b"], axis=1),
             helper.make_node("Concat", ["b", "a"], ["ba"], axis=1),
             helper.make_node("Slice", ["ba", "starts", "ends", "axes", "steps"], ["sl"]),
             helper.make_node("Pad", ["sl", "pads", "half"], ["pd"]),
             helper.make_node("Sign", ["pd"], ["s"]),
             helper.make_node("Conv", ["s", "wb"], ["bc"], pads=[1, 1, 1, 1]),
             helper.make_node("Flatten", ["bc"], ["f1"]), helper.make_node("Flatten", ["c0"], ["f2"]),
             helper.make_node("Concat", ["f1", "f2"], ["f"], axis=1),
             helper.make_node("MatMul", ["f", "fc"], ["y"])]
    graph = helper.make_graph(nodes, "slicing", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_split_slice_concat_and_channel_pad_match_onnxruntime():
    model = build()
    x = np.random.default_rng(1).standard_normal((20, 3, 8, 8)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    compiled = edgebnn.compile(model)
    assert [r["op"] for r in compiled.report["layers"] if r["binary_macs"]] == ["bconv"]
    got = compiled.run(x)
    assert np.array_equal(got, edgebnn.reference(model).run(x).reshape(got.shape))
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))


def test_slicing_c_is_clean_under_asan_and_ubsan():
    from edgebnn.check import harness

    model = build(1)
    compiled = edgebnn.compile(model)
    x = np.random.default_rng(3).standard_normal((3, 3, 8, 8)).astype(np.float32)
    y = harness.sanitized_run(compiled.out_dir, x)
    assert np.array_equal(y, edgebnn.reference(model).run(x).reshape(y.shape))
