"""tests/qonnx_spec.py against hand-computed values of the published QONNX/FINN semantics."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from qonnx_spec import CUSTOM_DOMAINS, run_onnxruntime, to_standard_onnx

pytest.importorskip("onnxruntime")


def _model(nodes, inputs, initializers=(), opset=9, ir_version=None, custom=("onnx.brevitas",),
           init_as_inputs=False, out_shape=None):
    out_shape = out_shape or inputs[0][1]
    x_infos = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)
               for name, shape in inputs]
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), name) for name, v in initializers]
    if init_as_inputs:  # IR < 4 style: every initializer is also a graph input
        x_infos += [helper.make_tensor_value_info(t.name, TensorProto.FLOAT, list(t.dims))
                    for t in inits]
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)
    graph = helper.make_graph(nodes, "spec", x_infos, [y], initializer=inits)
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, 1) for d in custom]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = ir_version or 6
    return model


def _run(model, x):
    std = to_standard_onnx(model)
    assert {imp.domain for imp in std.opset_import}.isdisjoint(CUSTOM_DOMAINS)
    assert all(n.domain in ("", "ai.onnx") for n in std.graph.node)
    assert [i.version for i in std.opset_import if i.domain == ""] == [
        i.version for i in model.opset_import if i.domain == ""]
    return run_onnxruntime(std, np.asarray(x, np.float32))


@pytest.mark.parametrize("domain", ["onnx.brevitas", "qonnx.custom_op.general",
                                    "finn.custom_op.general"])
def test_bipolar_quant_zero_is_plus_scale(domain):
    node = helper.make_node("BipolarQuant", ["x", "s"], ["y"], domain=domain)
    model = _model([node], [("x", [1, 7])], [("s", 0.5)], custom=(domain,))
    x = np.array([[-2.0, -0.0, 0.0, 1e-30, -1e-30, 3.0, -np.inf]], np.float32)
    expected = np.array([[-0.5, 0.5, 0.5, 0.5, -0.5, 0.5, -0.5]], np.float32)
    y = _run(model, x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, expected)


def test_bipolar_quant_per_channel_scale_and_old_ir_inputs():
    node = helper.make_node("BipolarQuant", ["x", "s"], ["y"], domain="onnx.brevitas")
    model = _model([node], [("x", [2, 3])], [("s", [[1.0, 2.0, 0.25]])],
                   ir_version=3, init_as_inputs=True)
    x = np.array([[0.0, -1.0, 5.0], [-3.0, 0.0, -0.0]], np.float32)
    expected = np.array([[1.0, -2.0, 0.25], [-1.0, 2.0, 0.25]], np.float32)
    np.testing.assert_array_equal(_run(model, x), expected)


def test_old_ir_initializer_listed_before_the_data_input():
    node = helper.make_node("BipolarQuant", ["x", "s"], ["y"], domain="onnx.brevitas")
    s = numpy_helper.from_array(np.array(3.0, np.float32), "s")
    graph = helper.make_graph(
        [node], "spec",
        [helper.make_tensor_value_info("s", TensorProto.FLOAT, []),
         helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], initializer=[s])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9),
                                                    helper.make_opsetid("onnx.brevitas", 1)])
    model.ir_version = 3
    np.testing.assert_array_equal(_run(model, [[-1.0, 0.0]]), [[-3.0, 3.0]])


def _mt(thresholds, **attrs):
    attrs.setdefault("out_dtype", "UINT4")
    node = helper.make_node("MultiThreshold", ["x", "t"], ["y"],
                            domain="finn.custom_op.general", **attrs)
    return node, ("t", thresholds)


def test_multithreshold_2d_single_threshold_equality_counts():
    # bipolar output as FINN writes a sign: out_scale 2, out_bias -1, one threshold per channel
    node, thr = _mt([[0.5], [-1.0], [0.0]], out_scale=2.0, out_bias=-1.0, out_dtype="BIPOLAR")
    model = _model([node], [("x", [3, 3])], [thr], custom=("finn.custom_op.general",))
    x = np.array([[0.5, -1.0, 0.0],       # every value exactly at its threshold -> counted
                  [0.49, -1.01, -1e-7],
                  [9.0, 7.0, -0.0]], np.float32)
    expected = np.array([[1, 1, 1], [-1, -1, -1], [1, 1, 1]], np.float32)
    np.testing.assert_array_equal(_run(model, x), expected)


def test_multithreshold_2d_several_thresholds_defaults():
    node, thr = _mt([[-1.0, 0.0, 2.0], [0.0, 0.0, 1.0]])
    model = _model([node], [("x", [2, 2])], [thr], custom=("finn.custom_op.general",))
    x = np.array([[-1.0, 0.0], [5.0, 0.5]], np.float32)
    # channel 0: -1 >= {-1}: 1;  5 >= all three: 3
    # channel 1: 0 >= {0, 0}: 2; 0.5 >= {0, 0}: 2
    expected = np.array([[1, 2], [3, 2]], np.float32)
    np.testing.assert_array_equal(_run(model, x), expected)


def test_multithreshold_4d_nchw_per_channel_scale_bias():
    node, thr = _mt([[0.0, 1.0], [-2.0, 3.0]], out_scale=0.5, out_bias=-0.5)
    model = _model([node], [("x", [1, 2, 2, 2])], [thr], custom=("finn.custom_op.general",))
    x = np.array([[[[-0.1, 0.0], [1.0, 7.0]],
                   [[-2.0, -2.5], [3.0, 2.9]]]], np.float32)
    counts = np.array([[[[0, 1], [2, 2]],
                        [[1, 0], [2, 1]]]], np.float32)
    np.testing.assert_array_equal(_run(model, x), 0.5 * counts - 0.5)


def test_multithreshold_4d_nhwc_and_global_threshold():
    node, thr = _mt([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], data_layout="NHWC")
    model = _model([node], [("x", [1, 1, 2, 2])], [thr], custom=("finn.custom_op.general",))
    x = np.array([[[[2.0, 0.0], [0.5, -1.0]]]], np.float32)   # channels last: C = 2
    expected = np.array([[[[2, 3], [0, 0]]]], np.float32)
    np.testing.assert_array_equal(_run(model, x), expected)

    node, thr = _mt([[1.0, 2.0]])                              # (1, T): same for all channels
    model = _model([node], [("x", [1, 3, 1, 1])], [thr], custom=("finn.custom_op.general",))
    x = np.array([[[[0.0]], [[1.0]], [[2.0]]]], np.float32)
    np.testing.assert_array_equal(_run(model, x), [[[[0.0]], [[1.0]], [[2.0]]]])


def test_bipolar_then_multithreshold_chain_matches_numpy_spec():
    rng = np.random.default_rng(0)
    thresholds = np.sort(rng.integers(-4, 5, size=(4, 3)).astype(np.float32), axis=1)
    nodes = [helper.make_node("BipolarQuant", ["x", "s"], ["b"], domain="onnx.brevitas"),
             helper.make_node("MatMul", ["b", "w"], ["m"]),
             helper.make_node("MultiThreshold", ["m", "t"], ["y"], domain="finn.custom_op.general",
                              out_dtype="INT2", out_bias=-1.0)]
    w = np.sign(rng.standard_normal((6, 4))).astype(np.float32)
    model = _model(nodes, [("x", [5, 6])], [("s", 1.0), ("w", w), ("t", thresholds)],
                   custom=("onnx.brevitas", "finn.custom_op.general"), out_shape=[5, 4])
    x = rng.integers(-2, 3, size=(5, 6)).astype(np.float32)       # exact zeros included
    b = np.where(x >= 0, 1.0, -1.0)
    m = b @ w
    expected = (m[:, :, None] >= thresholds[None]).sum(-1) - 1.0
    np.testing.assert_array_equal(_run(model, x), expected.astype(np.float32))


def test_unknown_custom_op_is_refused():
    node = helper.make_node("Trunc", ["x", "s"], ["y"], domain="qonnx.custom_op.general")
    model = _model([node], [("x", [1, 2])], [("s", 1.0)], custom=("qonnx.custom_op.general",))
    with pytest.raises(NotImplementedError, match="Trunc"):
        to_standard_onnx(model)


def test_input_model_is_not_modified():
    node = helper.make_node("BipolarQuant", ["x", "s"], ["y"], domain="onnx.brevitas")
    model = _model([node], [("x", [1, 2])], [("s", 1.0)])
    before = model.SerializeToString()
    to_standard_onnx(model)
    assert model.SerializeToString() == before
    onnx.checker.check_model(to_standard_onnx(model))
