"""Binary convolutions that write pooled bits (passes/pool_bits.py, the ``pooled`` kernel of
ir/ops/bconv.py, runtime_c/ebnn_opt_conv_pool.c): conv -> max-pool -> BN -> sign and
conv -> BN -> sign -> max-pool compiled with and without fusion agree with onnxruntime bit for
bit, and no int32 map exists in the lowered graph or the arena."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import edgebnn
from cnn_builders import build_pool_cnn
from onnx_builders import for_onnxruntime

# (order, cin, m, hw, stride, pad, explicit_pad, pool (kernel, stride, pads))
CASES = [
    ("pool_bn", 32, 64, (9, 9), 1, 1, False, (2, 2, 0)),  # odd size: the pool drops a row and a column
    ("bn_pool", 32, 64, (9, 9), 1, 1, False, (2, 2, 0)),
    ("pool_bn", 16, 40, (8, 7), 1, 0, False, (3, 2, 0)),  # overlapping 3x3/2 windows
    ("bn_pool", 40, 33, (7, 8), 1, 1, True, (3, 2, 1)),  # Pad(value=1), padded pool
    ("pool_bn", 64, 70, (6, 6), 1, 1, False, (3, 1, 1)),  # spare channels, every pixel in 9 windows
    ("pool_bn", 20, 24, (9, 10), 2, 1, False, (2, 2, 0)),  # stride 2: not the pooled kernel
    ("bn_pool", 70, 32, (5, 7), 1, 0, True, (2, 1, 0)),  # three input words per pixel
]


def _ort(built, x):
    sess = ort.InferenceSession(for_onnxruntime(built).SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {"x": x[i:i + 1]})[0] for i in range(len(x))])


def _inputs(built, n=6, seed=0):
    return np.random.default_rng(seed).standard_normal((n,) + built.input_shape[1:]).astype(np.float32)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_pooled_bits_agree_with_onnxruntime(case, tmp_path):
    order, cin, m, hw, stride, pad, explicit, pool = CASES[case]
    built = build_pool_cnn(100 + case, order, cin, m, hw, stride, pad, explicit, pool)
    x = _inputs(built)
    expected = _ort(built, x)
    assert np.all(expected != 0)  # no Sign(0): every output bit is defined
    for kernels in ("optimized", "reference"):
        compiled = edgebnn.compile(built.model, target="host", kernels=kernels, out_dir=tmp_path / kernels)
        assert np.array_equal(compiled.run(x).reshape(expected.shape), expected), kernels
        assert np.array_equal(edgebnn.reference(compiled.graph).run(x).reshape(expected.shape), expected)
        g = compiled.graph
        # the max-pool runs on bits: no pooled accumulator map
        assert all(g.tensors[e.outputs[0]].dtype == "bits" for op in g.ops for e in [op, *op.epilogues]
                   if "maxpool" in (op.kind, *[f.kind for f in op.epilogues]) and e.kind == "maxpool")
        if kernels == "optimized":
            assert not any(g.tensors[t].dtype == "i32" for op in g.ops for t in op.outputs)
            conv = next(op for op in g.ops if op.kind == "bconv")
            if stride == 1:
                assert conv.label == "bconv+threshold+maxpool" and conv.attrs["c_kernel"] == "pooled"
                rows = [r for r in compiled.report["layers"] if r["op"] == "bconv"]
                assert rows[0]["epilogues"] == ["threshold", "maxpool"]
