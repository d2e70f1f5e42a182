"""SRAM near the bit-level bound on real exports: binary convs write pooled, thresholded bits,
the real first conv writes its BN + sign bits, so no int32 or float map is ever stored.

The XNOR-Net CNN with pooling before BatchNorm (tests/models/torch/make_xnor_cnn.py, both
PyTorch exporters) needs 255,024 B of SRAM when every op stores its output; fused it fits
12 KiB.  Its outputs are checked against onnxruntime (classes) and the numpy reference
(bit for bit), on the host and under emulation.  Byte counts are deterministic: bounds on
them are safe to assert."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import edgebnn
from edgebnn.check.validate import onnxruntime_run
from edgebnn.frontend import loader

ROOT = Path(__file__).resolve().parents[1]
CNN = ROOT / "tests" / "models" / "torch"
EXAMPLES = sorted((ROOT / "examples" / "models").glob("*/*.onnx"))


def _inputs(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, 1, 28, 28)).astype(np.float32)


@pytest.mark.parametrize("exporter", ["torchscript", "dynamo"])
def test_the_xnor_cnn_fits_12_kib_and_matches_onnxruntime(exporter):
    path = CNN / f"xnor_cnn_pool_bn_{exporter}.onnx"
    compiled = edgebnn.compile(path, target="cortex-m4")
    memory = compiled.report["memory"]
    assert memory["sram_bytes"] <= 12_288, memory
    assert memory["stack_bytes"] <= 512, memory["stack_chain"]
    kinds = {compiled.graph.tensors[t].dtype for op in compiled.graph.ops for t in op.outputs}
    assert kinds <= {"bits", "f32"} and compiled.graph.tensors[compiled.graph.ops[0].outputs[0]].dtype == "bits"
    x = _inputs(16, seed=len(exporter))
    c = compiled.run(x)
    assert np.array_equal(c, edgebnn.compiler.reference(path).run(x))
    proto, _ = loader.read(path)
    ort, _ = onnxruntime_run(proto, x)
    assert np.array_equal(c.reshape(len(x), -1).argmax(1), ort.reshape(len(x), -1).argmax(1))


def test_the_xnor_cnn_under_emulation_equals_the_host_build():
    compiled = edgebnn.compile(CNN / "xnor_cnn_pool_bn_dynamo.onnx", target="cortex-m4")
    x = _inputs(2, seed=5)
    outputs, stats = compiled.emulate(x)
    assert stats["identical_to_host"] and np.array_equal(outputs, compiled.run(x))


def test_the_bundled_xnor_cnn_fits_8_kib():
    report = edgebnn.compile(ROOT / "examples/models/xnor_cnn/xnor_cnn_dynamo.onnx", target="cortex-m4").report
    assert report["memory"]["sram_bytes"] <= 8_192, report["memory"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_bundled_example_has_a_small_stack(path):
    memory = edgebnn.compile(path, target="cortex-m4", allow_overflow=True).report["memory"]
    assert memory["stack_bytes"] <= 512, memory["stack_chain"]
