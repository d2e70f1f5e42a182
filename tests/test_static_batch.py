"""Models exported with a static batch (here 8, both PyTorch exporters, the batch baked into a
Reshape): one sample is compiled, the report says so, and the C on 8 different samples gives
what onnxruntime gives on the same batch of 8."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

import edgebnn

MODELS = Path(__file__).resolve().parent / "models" / "torch"


@pytest.mark.parametrize("name", ["static_batch8_torchscript.onnx", "static_batch8_dynamo.onnx"])
def test_static_batch_compiles_one_sample(name):
    path = MODELS / name
    x = np.random.default_rng(5).standard_normal((8, 1, 12, 12)).astype(np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    expected = session.run(None, {session.get_inputs()[0].name: x})[0]
    compiled = edgebnn.compile(path)
    assert compiled.report["batch"]["exported"] == 8 and compiled.report["input_shape"] == [1, 1, 12, 12]
    got = compiled.run(x)
    assert np.array_equal(got.argmax(1), expected.argmax(1))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * float(np.abs(expected).max()))
