"""Element-wise activations (LeakyRelu, PRelu, Clip, Neg, Sigmoid, Tanh, Max/Min with a
constant) in the three places a network has them: on a real-valued layer's output before
BatchNorm + Sign (folded into the integer thresholds), after a binary convolution's BatchNorm
(a float step of its output), and on the real-valued output.  The C must give onnxruntime's
outputs (1e-5 relative) and equal edgebnn's reference exactly."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import edgebnn
from bn_nodes import bn_node

C, H, W, N = 8, 6, 6, 10


def _activation(kind: str, x: str, y: str, rng, opset: int, inits: list) -> list:
    def const(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    if kind == "LeakyRelu":
        return [helper.make_node("LeakyRelu", [x], [y], alpha=0.15)]
    if kind == "PRelu":
        slope = rng.uniform(-0.8, 0.8, (C, 1, 1)) if y.startswith("a0") else rng.uniform(0.1, 0.5, (1,))
        return [helper.make_node("PRelu", [x, const(y + "_slope", slope)], [y])]
    if kind == "Clip" and opset < 11:
        return [helper.make_node("Clip", [x], [y], min=-0.7, max=0.9)]
    if kind == "Clip":
        return [helper.make_node("Clip", [x, const(y + "_lo", -0.7), const(y + "_hi", np.inf)], [y])]
    if kind in ("Max", "Min"):
        return [helper.make_node(kind, [const(y + "_c", 0.2), x], [y])]
    return [helper.make_node(kind, [x], [y])]


def build(kind: str, seed: int, opset: int = 13) -> onnx.ModelProto:
    """x -> real conv -> ACT -> BN -> Sign -> binary conv -> BN -> ACT -> Flatten -> Gemm -> ACT."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.standard_normal((C, 3, 3, 3)).astype(np.float32), "w0"),
             numpy_helper.from_array(rng.choice([-1.0, 1.0], (C, C, 3, 3)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal((C * H * W, N)).astype(np.float32) * 0.1, "w2"),
             numpy_helper.from_array(rng.standard_normal(N).astype(np.float32), "b2")]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1])]
    nodes += _activation(kind, "c0", "a0", rng, opset, inits)
    nodes += [bn_node("bn0", "a0", "n0", rng, inits, C), helper.make_node("Sign", ["n0"], ["s0"]),
              helper.make_node("Conv", ["s0", "w1"], ["c1"], pads=[1, 1, 1, 1]),
              bn_node("bn1", "c1", "n1", rng, inits, C)]
    nodes += _activation(kind, "n1", "a1", rng, opset, inits)
    nodes += [helper.make_node("Flatten", ["a1"], ["f"]), helper.make_node("Gemm", ["f", "w2", "b2"], ["g"])]
    nodes += _activation(kind, "g", "y", rng, opset, inits)
    graph = helper.make_graph(nodes, f"act_{kind}", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, H, W])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


KINDS = ["LeakyRelu", "PRelu", "Clip", "Neg", "Sigmoid", "Tanh", "Max", "Min"]


@pytest.mark.parametrize("kind,opset", [(k, 13) for k in KINDS] + [("Clip", 10)])
def test_activation_matches_onnxruntime(kind, opset):
    model = build(kind, seed=KINDS.index(kind), opset=opset)
    x = np.random.default_rng(1).standard_normal((40, 3, H, W)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    compiled = edgebnn.compile(model)
    got = compiled.run(x)
    assert [r["op"] for r in compiled.report["layers"] if r["binary_macs"]] == ["bconv"]
    assert np.array_equal(got, edgebnn.reference(model).run(x).reshape(got.shape))
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6 * float(np.abs(expected).max()))


def test_sigmoid_and_tanh_under_emulation_equal_the_host_build():
    """Both round once from double: newlib's exp/tanh on the Cortex-M give the host's floats."""
    for kind in ("Sigmoid", "Tanh"):
        compiled = edgebnn.compile(build(kind, seed=4), target="cortex-m4")
        x = np.random.default_rng(2).standard_normal((4, 3, H, W)).astype(np.float32)
        outputs, stats = compiled.emulate(x)
        assert stats["identical_to_host"] and np.array_equal(outputs, compiled.run(x))


@pytest.mark.parametrize("kind", KINDS)
def test_activation_c_is_clean_under_asan_and_ubsan(kind):
    from edgebnn.check import harness

    model = build(kind, seed=KINDS.index(kind))
    compiled = edgebnn.compile(model)
    x = np.random.default_rng(3).standard_normal((4, 3, H, W)).astype(np.float32)
    x[1] = 0
    x[2] *= 1e4
    y = harness.sanitized_run(compiled.out_dir, x)
    assert np.array_equal(y, edgebnn.reference(model).run(x).reshape(y.shape))
