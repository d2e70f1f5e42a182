"""User errors through the CLI: exit status 2, one clear line on stderr naming the node,
no traceback, and no half-written output folder."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnx_builders import small_known_mlp

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cli(model_path, out_dir):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO_ROOT + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "edgebnn", "compile", str(model_path), "--target", "cortex-m4",
         "-o", str(out_dir)],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300,
    )


def assert_user_error(proc, out_dir, must_name=None):
    err = proc.stderr
    assert proc.returncode == 2, f"exit status {proc.returncode}, expected 2; stderr:\n{err}"
    assert "Traceback" not in err, f"traceback on stderr:\n{err}"
    lines = err.rstrip("\n").split("\n")
    assert len(lines) == 1 and lines[0].strip(), f"stderr must be exactly one non-empty line, got:\n{err!r}"
    if must_name:
        assert must_name in lines[0], f"error does not name {must_name!r}: {lines[0]!r}"
    assert not os.path.exists(out_dir), f"output folder {out_dir} exists after a failed compile"
    return lines[0]


def _insert_after(model, tensor, node):
    """Insert `node` (one input: `tensor`) and rewire every consumer of `tensor` to its output."""
    g = model.graph
    out = node.output[0]
    for n in g.node:
        for i, name in enumerate(n.input):
            if name == tensor:
                n.input[i] = out
    idx = next(i for i, n in enumerate(g.node) if tensor in n.output)
    g.node.insert(idx + 1, node)
    return model


@pytest.mark.parametrize("op", ["Softplus", "LSTM"])
def test_unsupported_op_in_the_middle(tmp_path, op):
    built = small_known_mlp("sign", seed=3)
    model = built.model
    # the binarized output of the first hidden layer feeds the next dense layer
    tensor = next(n.output[0] for n in model.graph.node if n.name.startswith("act0_bin"))
    node_name = f"my_unsupported_{op.lower()}"
    if op == "Softplus":
        _insert_after(model, tensor, helper.make_node("Softplus", [tensor], [node_name + "_y"], name=node_name))
    else:
        hidden, k = 4, 45  # act0 has 45 channels in small_known_mlp; LSTM over a length-1 sequence
        rng = np.random.RandomState(0)
        g = model.graph
        g.initializer.extend([
            numpy_helper.from_array(rng.standard_normal((1, 4 * hidden, k)).astype(np.float32), "lstm_W"),
            numpy_helper.from_array(rng.standard_normal((1, 4 * hidden, hidden)).astype(np.float32), "lstm_R"),
        ])
        seq = helper.make_node("Unsqueeze", [tensor, "lstm_axes0"], ["lstm_seq"], name=node_name + "_unsqueeze")
        g.initializer.append(numpy_helper.from_array(np.array([0], np.int64), "lstm_axes0"))
        lstm = helper.make_node("LSTM", ["lstm_seq", "lstm_W", "lstm_R"], ["lstm_Y", "lstm_Yh"],
                                name=node_name, hidden_size=hidden)
        sq = helper.make_node("Squeeze", ["lstm_Yh", "lstm_axes0"], [node_name + "_y"], name=node_name + "_squeeze")
        # dense1 now sees `hidden` inputs: replace the consumer's input and its weight
        consumer = next(n for n in g.node if tensor in n.input)
        consumer.input[list(consumer.input).index(tensor)] = node_name + "_y"
        idx = next(i for i, n in enumerate(g.node) if tensor in n.output)
        for j, n in enumerate([seq, lstm, sq]):
            g.node.insert(idx + 1 + j, n)
        # dense1 is transpose_matmul: weight (N, K) float -> Sign -> Transpose -> MatMul
        wname = next(n.input[0] for n in g.node if n.name.startswith("dense1_wbin"))
        w = next(t for t in g.initializer if t.name == wname)
        n_out = w.dims[0]
        w.CopyFrom(numpy_helper.from_array(rng.standard_normal((n_out, hidden)).astype(np.float32), wname))
    onnx.checker.check_model(model, full_check=True)
    path = tmp_path / "model.onnx"
    onnx.save(model, path)
    out = tmp_path / "out"
    assert_user_error(run_cli(path, out), out, must_name=node_name)


def test_truncated_file(tmp_path):
    data = small_known_mlp("sign", seed=4).model.SerializeToString()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(data[: len(data) // 2])
    out = tmp_path / "out"
    assert_user_error(run_cli(path, out), out)


def _nonbinary_middle_model(node_name="nonbinary_matmul"):
    """x -> Sign -> MatMul(+-1) -> BN -> Sign -> MatMul(real weights, named node) -> BN -> Sign
    -> MatMul(+-1) -> BN (float out). The middle MatMul sits between two binarizers, so it is a
    binary layer, and its weights have many distinct values per output channel."""
    rng = np.random.RandomState(5)
    k0, h1, h2, n_out = 20, 24, 16, 5

    def bn(prefix, n):
        return [
            numpy_helper.from_array(rng.uniform(0.5, 1.5, n).astype(np.float32), f"{prefix}_g"),
            numpy_helper.from_array(rng.uniform(-0.5, 0.5, n).astype(np.float32), f"{prefix}_b"),
            numpy_helper.from_array(rng.uniform(-1, 1, n).astype(np.float32), f"{prefix}_m"),
            numpy_helper.from_array(rng.uniform(1, 4, n).astype(np.float32), f"{prefix}_v"),
        ]

    w_mid = rng.standard_normal((h1, h2)).astype(np.float32)
    assert all(len(np.unique(w_mid[:, j])) >= 3 for j in range(h2))
    inits = [
        numpy_helper.from_array(np.where(rng.rand(k0, h1) < 0.5, -1, 1).astype(np.float32), "w1"),
        numpy_helper.from_array(w_mid, "w_mid"),
        numpy_helper.from_array(np.where(rng.rand(h2, n_out) < 0.5, -1, 1).astype(np.float32), "w3"),
    ] + bn("bn1", h1) + bn("bn2", h2) + bn("bn3", n_out)
    P = lambda p: [f"{p}_g", f"{p}_b", f"{p}_m", f"{p}_v"]  # noqa: E731
    nodes = [
        helper.make_node("Sign", ["x"], ["a0"], name="sign0"),
        helper.make_node("MatMul", ["a0", "w1"], ["z1"], name="dense1"),
        helper.make_node("BatchNormalization", ["z1"] + P("bn1"), ["y1"], name="bn1"),
        helper.make_node("Sign", ["y1"], ["a1"], name="sign1"),
        helper.make_node("MatMul", ["a1", "w_mid"], ["z2"], name=node_name),
        helper.make_node("BatchNormalization", ["z2"] + P("bn2"), ["y2"], name="bn2"),
        helper.make_node("Sign", ["y2"], ["a2"], name="sign2"),
        helper.make_node("MatMul", ["a2", "w3"], ["z3"], name="dense3"),
        helper.make_node("BatchNormalization", ["z3"] + P("bn3"), ["y"], name="bn3"),
    ]
    graph = helper.make_graph(
        nodes, "nonbinary_middle",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k0])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, n_out])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return model


def test_nonbinary_weights_in_binary_layer(tmp_path):
    node_name = "nonbinary_matmul"
    path = tmp_path / "model.onnx"
    onnx.save(_nonbinary_middle_model(node_name), path)
    out = tmp_path / "out"
    assert_user_error(run_cli(path, out), out, must_name=node_name)


def test_missing_file(tmp_path):
    path = tmp_path / "does_not_exist.onnx"
    out = tmp_path / "out"
    line = assert_user_error(run_cli(path, out), out)
    assert "does_not_exist.onnx" in line, f"error does not name the missing file: {line!r}"
