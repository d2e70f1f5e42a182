"""Integer inputs (issue 18): ``input_type`` "uint8" / "int8" gives C that takes codes q read as
``scale * (q - zero_point)``.  Checked against onnxruntime on the float graph fed the same
floats: TFC-W1A1 on all 10,000 MNIST test images (and its SRAM), a model whose first op scales
its input, int8 codes with a zero point, the SIMD path under QEMU, and the refusal of a model
whose first op does neither (one line, exit 2).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

import edgebnn
from qonnx_spec import run_onnxruntime, to_standard_onnx
from test_dense_fast import _threshold_model
from test_user_errors import edgebnn_cli

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
from mnist_data import load_mnist_test, tfc_inputs  # noqa: E402

TFC = ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"


def _ort(model, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    return np.concatenate([sess.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def _floats(q, scale, zero_point):
    """The floats the graph sees, as int_input.py defines them."""
    return (np.float64(np.float32(scale)) * (np.asarray(q, np.float64) - zero_point)).astype(np.float32)


def test_tfc_uint8_same_class_as_float_on_mnist():
    images, _ = load_mnist_test()
    x_float = tfc_inputs(images)
    float_c = edgebnn.compile(TFC, target="cortex-m4")
    uint8_c = edgebnn.compile(TFC, target="cortex-m4", input_type="uint8")
    rep = uint8_c.report
    assert rep["input"] == {"type": "uint8", "scale": float(np.float32(1 / 255)), "zero_point": 0}
    assert rep["memory"]["sram_bytes"] <= 1536
    assert "typedef uint8_t model_input_t;" in (uint8_c.out_dir / "model.h").read_text()
    ort_cls = run_onnxruntime(to_standard_onnx(onnx.load(str(TFC))), x_float).argmax(1)
    float_cls = float_c.run(x_float).argmax(1)
    assert np.array_equal(float_cls, ort_cls)
    assert np.array_equal(uint8_c.run(images.reshape(-1, 1, 28, 28)).argmax(1), float_cls)
    outputs, stats = uint8_c.emulate(images[:3].reshape(-1, 1, 28, 28))
    assert stats["identical"]


def test_int8_codes_with_zero_point_match_onnxruntime():
    """int8 codes (SSUB8 on whole words, the C loop on the rest) and uint8 ones with a scale."""
    for k, kind, scale, zp in ((784, "int8", 1 / 100, -20), (37, "int8", 1 / 128, 5), (70, "uint8", 1 / 200, 3)):
        model = _threshold_model(k, 9, k)
        info = np.iinfo(kind)
        q = np.random.default_rng(k).integers(info.min, info.max, size=(6, k), endpoint=True).astype(kind)
        expected = _ort(model, _floats(q, scale, zp))
        compiled = edgebnn.compile(model, target="cortex-m4", input_type=kind, input_scale=scale,
                                   input_zero_point=zp)
        assert np.array_equal(compiled.run(q), expected), (k, kind)
        outputs, stats = compiled.emulate(q)
        assert stats["identical"] and np.array_equal(outputs, expected), (k, kind)


def _scaled_model(k=20, n=16, seed=3):
    """x -> Mul (per element) -> Add -> MatMul (float) -> Sign -> MatMul (+-1): the first op scales."""
    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.uniform(0.5, 2.0, (1, k)).astype(np.float32), "s"),
             numpy_helper.from_array(rng.uniform(-1, 1, (1, k)).astype(np.float32), "b"),
             numpy_helper.from_array(rng.normal(size=(k, n)).astype(np.float32), "wf"),
             numpy_helper.from_array(np.where(rng.random((n, 10)) < 0.5, 1.0, -1.0).astype(np.float32), "wb")]
    nodes = [helper.make_node("Mul", ["x", "s"], ["a"]), helper.make_node("Add", ["a", "b"], ["c"]),
             helper.make_node("MatMul", ["c", "wf"], ["d"]), helper.make_node("Sign", ["d"], ["e"]),
             helper.make_node("MatMul", ["e", "wb"], ["y"])]
    g = helper.make_graph(nodes, "scaled", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], initializer=inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])


def test_first_op_scaling_the_input():
    model = _scaled_model()
    q = np.random.default_rng(0).integers(0, 255, size=(8, 20), endpoint=True).astype(np.uint8)
    x = _floats(q, 1 / 255, 0)
    compiled = edgebnn.compile(model, target="cortex-m4", input_type="uint8")
    assert "ebnn_scale_int(" in (compiled.out_dir / "model.c").read_text()
    float_out = edgebnn.compile(model, target="cortex-m4").run(x)
    assert np.array_equal(compiled.run(q), float_out)  # the same floats after the first op
    np.testing.assert_allclose(float_out, _ort(model, x), rtol=1e-5, atol=1e-5)
    outputs, stats = compiled.emulate(q[:3])
    assert stats["identical"]


def test_refused_when_the_first_op_neither_binarizes_nor_scales(tmp_path):
    model = _scaled_model()
    del model.graph.node[:2]
    model.graph.node[0].input[0] = "x"
    path = tmp_path / "first_matmul.onnx"
    onnx.save(model, str(path))
    done = edgebnn_cli("compile", path, "--input-type", "uint8", "-o", tmp_path / "out", cwd=tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "--input-type uint8" in lines[0] and "binarizes or scales" in lines[0]
    assert not (tmp_path / "out").exists()


def test_validate_runs_the_uint8_path(tmp_path):
    done = edgebnn_cli("validate", TFC, "--input-type", "uint8", "--random", "20", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "OK" in done.stdout


def test_integer_input_kernels_clean_under_sanitizers(tmp_path):
    """The integer-input kernels (binarize_int whole words and tail, scale_int) under ASan +
    UBSan with exactly-sized buffers agree with the plain host build."""
    from edgebnn.check.harness import sanitized_run

    images, _ = load_mnist_test()
    cases = [(TFC, "uint8", images[:4].reshape(4, 1, 28, 28)),
             (_threshold_model(37, 9, 1), "int8", np.arange(-128, 128, 7, dtype=np.int8)[:37][None].repeat(2, 0)),
             (_scaled_model(), "uint8", np.arange(0, 200, 10, dtype=np.uint8)[None].repeat(2, 0))]
    for i, (model, kind, q) in enumerate(cases):
        compiled = edgebnn.compile(model, target="cortex-m4", input_type=kind, out_dir=tmp_path / f"m{i}")
        assert np.array_equal(sanitized_run(compiled.out_dir, q), compiled.run(q).reshape(len(q), -1))
