"""The kernel benchmark's acceptance rows (benchmarks/kernels.py, cortex-m4): at least 6 binary
MACs per instruction (QEMU -icount, deterministic) for every dense and conv shape with a fan-in
of 256 or more, on the benchmark's own random inputs, bit-identical to the host build and the
reference; and a tight SRAM budget picks the list-free dense kernels (still onnxruntime's
outputs).  Needs the emulation toolchain (scripts/setup.sh), like tests/test_emulate.py."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

import edgebnn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "examples"))
import kernels as bench  # noqa: E402
from mnist_data import load_mnist_test, tfc_inputs  # noqa: E402
from qonnx_spec import run_onnxruntime, to_standard_onnx  # noqa: E402

TFC = ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"
DENSE_ROWS = [(kind, shape, built) for kind, shape, sparsity, built in bench.shapes() if sparsity == 0.0]


@pytest.mark.parametrize("kind,shape,built", DENSE_ROWS, ids=[s for _, s, _ in DENSE_ROWS])
def test_benchmark_rows_reach_six_macs_per_instruction(kind, shape, built):
    model, in_shape = built
    macs, instructions, identical = bench.measure_layer(model, in_shape, "cortex-m4", "optimized", kind)
    assert identical
    w = next(t for t in model.graph.initializer if t.name == "w").dims  # (k, n) or (m, c, 3, 3)
    k = w[0] if kind == "bdense" else int(np.prod(w[1:]))  # the fan-in
    if k >= 256:
        assert macs / instructions >= 6.0, f"{shape}: {macs / instructions:.2f} binary MACs per instruction"
    elif "64->64" in shape:
        assert macs / instructions >= 3.0, f"{shape}: {macs / instructions:.2f} binary MACs per instruction"


def test_tight_sram_budget_picks_list_free_dense_kernels():
    """TFC's first layer lists its input's set bits in the arena; one byte less SRAM than that
    needs compiles with the list-free kernel instead: it fits, the report says why, and the
    outputs are still onnxruntime's."""
    fast = edgebnn.compile(TFC, target="cortex-m4")
    assert "ebnn_bdense_bnd_t(" in (fast.out_dir / "model.c").read_text()
    budget = fast.report["memory"]["sram_bytes"] - 1
    lean = edgebnn.compile(TFC, target="cortex-m4", sram=budget)
    assert "ebnn_bdense_bnd_t(" not in (lean.out_dir / "model.c").read_text()
    assert lean.report["memory"]["sram_bytes"] <= budget and "least SRAM" in lean.report["kernel_choice"]
    images, _ = load_mnist_test()
    x = tfc_inputs(images[:50])
    expected = run_onnxruntime(to_standard_onnx(onnx.load(str(TFC))), x)  # the QONNX ops spelled in ONNX
    assert np.array_equal(lean.run(x).reshape(expected.shape), expected)
    assert np.array_equal(fast.run(x).reshape(expected.shape), expected)
