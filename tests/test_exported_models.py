"""Published binary architectures as real exporters write them (tests/models: PyTorch's two
exporters, Larq through tf2onnx, FINN's dataflow build): each compiles, and the C gives
onnxruntime's class on every seeded input, float outputs within 1e-5 relative (softmax
outputs within 1e-5 absolute).  onnxruntime runs at test time; nothing is frozen from our code."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import edgebnn

MODELS = Path(__file__).resolve().parent / "models"
TORCH = ["birealnet18_torchscript.onnx", "birealnet18_dynamo.onnx", "reactnet_a_torchscript.onnx",
         "reactnet_a_dynamo.onnx", "irnet_resnet20_torchscript.onnx", "irnet_resnet20_dynamo.onnx"]
LARQ = ["binary_alexnet.onnx", "binary_densenet28.onnx", "binary_resnet_e18.onnx", "birealnet.onnx",
        "meliusnet22.onnx", "quicknet_small.onnx", "real_to_binary_net.onnx", "xnornet.onnx"]
INPUTS = 8


def onnxruntime_outputs(path: Path, x: np.ndarray) -> np.ndarray:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def seeded_inputs(path: Path, seed: int) -> np.ndarray:
    dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.dim_value > 0 else 1 for d in dims]
    return np.random.default_rng(seed).standard_normal((INPUTS, *shape[1:])).astype(np.float32)


def check_against_onnxruntime(path: Path, softmax: bool) -> dict:
    x = seeded_inputs(path, seed=len(path.name))
    compiled = edgebnn.compile(path, target="cortex-m4", allow_overflow=True)
    c, o = compiled.run(x), onnxruntime_outputs(path, x)
    flat_c, flat_o = c.reshape(len(x), -1), o.reshape(len(x), -1)
    differ = np.flatnonzero(flat_c.argmax(1) != flat_o.argmax(1))
    assert differ.size == 0, f"{path.name}: class differs from onnxruntime on inputs {differ.tolist()}"
    if softmax:
        np.testing.assert_allclose(flat_c, flat_o, rtol=0, atol=1e-5)
    else:
        np.testing.assert_allclose(flat_c, flat_o, rtol=1e-5, atol=1e-5 * float(np.abs(flat_o).max()))
    return compiled.report


@pytest.mark.parametrize("name", TORCH)
def test_pytorch_exports_match_onnxruntime(name):
    report = check_against_onnxruntime(MODELS / "torch" / name, softmax=False)
    assert report["totals"]["binary_macs"] > report["totals"]["real_macs"] > 0


@pytest.mark.parametrize("name", LARQ)
def test_larq_tf2onnx_exports_match_onnxruntime(name):
    report = check_against_onnxruntime(MODELS / "larq" / name, softmax=True)
    assert report["totals"]["binary_macs"] > 0


def test_a_residual_export_under_emulation_equals_the_host_build():
    path = MODELS / "torch" / "birealnet18_torchscript.onnx"
    compiled = edgebnn.compile(path, target="cortex-m7", allow_overflow=True)
    x = seeded_inputs(path, seed=3)[:2]
    outputs, stats = compiled.emulate(x)
    assert stats["identical_to_host"] and np.array_equal(outputs, compiled.run(x))


def test_finn_dataflow_tfc_gives_its_expected_labels():
    """FINN's dataflow build ends in TopK: the C's int32 labels equal expected_output.npy
    (committed beside the model from the FINN repository, made by FINN's own flow)."""
    folder = MODELS / "finn_dataflow_tfc"
    x, expected = np.load(folder / "input.npy"), np.load(folder / "expected_output.npy")
    compiled = edgebnn.compile(folder / "model.onnx")
    labels = compiled.run(x.astype(np.float32))
    assert labels.dtype == np.int32 and np.array_equal(labels.reshape(-1), expected)
    outputs, stats = compiled.emulate(x.astype(np.float32))
    assert stats["identical_to_host"] and np.array_equal(outputs, labels)
