"""Residual graphs: tensors read by several ops and element-wise ops of two computed tensors
(a real shortcut added to a binary convolution's output, a per-channel gate, Sub, Max), as
Bi-Real / ReActNet blocks have them.  The C gives onnxruntime's outputs (1e-5 relative) and
equals edgebnn's reference exactly; under emulation it equals the host build."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import edgebnn
from bn_nodes import bn_node

C, H, W, N = 16, 8, 8, 10


def _block(i: int, x: str, rng, inits) -> tuple[list, str]:
    """sign -> binary 3x3 conv -> BN -> + x (the real shortcut)."""
    inits.append(numpy_helper.from_array(rng.choice([-1.0, 1.0], (C, C, 3, 3)).astype(np.float32), f"bw{i}"))
    return [helper.make_node("Sign", [x], [f"s{i}"]),
            helper.make_node("Conv", [f"s{i}", f"bw{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
            bn_node(f"bn{i}", f"c{i}", f"n{i}", rng, inits, C, mean=(-2, 2), var=(2, 20)),
            helper.make_node("Add", [f"n{i}", x], [f"r{i}"])], f"r{i}"


def build(seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.standard_normal((C, 3, 3, 3)).astype(np.float32), "w0"),
             numpy_helper.from_array((rng.standard_normal((C * H * W, N)) * 0.05).astype(np.float32), "fc"),
             numpy_helper.from_array(rng.uniform(0.05, 0.4, (C, 1, 1)).astype(np.float32), "slope")]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["stem"], pads=[1, 1, 1, 1])]
    b1, r1 = _block(1, "stem", rng, inits)
    b2, r2 = _block(2, "p1", rng, inits)
    nodes += b1 + [helper.make_node("PRelu", [r1, "slope"], ["p1"])] + b2
    nodes += [helper.make_node("GlobalAveragePool", [r2], ["gap"]), helper.make_node("Sigmoid", ["gap"], ["gate"]),
              helper.make_node("Mul", [r2, "gate"], ["gated"]),              # (1,C,H,W) * (1,C,1,1)
              helper.make_node("Sub", ["gated", "stem"], ["diff"]),
              helper.make_node("Max", ["diff", "p1"], ["top"]),
              helper.make_node("Flatten", ["top"], ["f"]), helper.make_node("MatMul", ["f", "fc"], ["y"])]
    graph = helper.make_graph(nodes, "residual", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, H, W])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, N])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def test_residual_graph_matches_onnxruntime_and_the_reference():
    model = build()
    x = np.random.default_rng(1).standard_normal((32, 3, H, W)).astype(np.float32)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    expected = np.concatenate([session.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])
    compiled = edgebnn.compile(model)
    assert [r["op"] for r in compiled.report["layers"] if r["binary_macs"]] == ["bconv", "bconv"]
    got = compiled.run(x)
    assert np.array_equal(got, edgebnn.reference(model).run(x).reshape(got.shape))
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))


def test_residual_graph_under_emulation_equals_the_host_build():
    compiled = edgebnn.compile(build(1), target="cortex-m7")
    x = np.random.default_rng(2).standard_normal((3, 3, H, W)).astype(np.float32)
    outputs, stats = compiled.emulate(x)
    assert stats["identical_to_host"] and np.array_equal(outputs, compiled.run(x))


def test_residual_c_is_clean_under_asan_and_ubsan():
    from edgebnn.check import harness

    model = build(2)
    x = np.random.default_rng(3).standard_normal((4, 3, H, W)).astype(np.float32)
    x[1] = 0
    x[2] *= 1e4
    compiled = edgebnn.compile(model)  # its temporary folder lives as long as the object
    y = harness.sanitized_run(compiled.out_dir, x)
    assert np.array_equal(y, edgebnn.reference(model).run(x).reshape(y.shape))
