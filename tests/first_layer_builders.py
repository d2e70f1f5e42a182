"""Random real-valued first layers that feed a binarizer, written with ``onnx.helper``:

    x (1, C, H, W) -> Conv k x k (stride, pads, bias) [-> MaxPool] -> BatchNormalization -> Sign
      -> binary 1x1 Conv (+-1 weights) -> output (integers: every bit shows)
    x (1, K) -> Gemm (bias) -> BatchNormalization -> Sign -> binary MatMul -> output

BatchNorm gammas take both signs and some are exactly 0.  Every value is dyadic and small
(weights k/8, inputs k/8, BN mean and gamma k/8, variance a power of 4, epsilon 0, beta an odd
multiple of 1/4096), so every float sum is exact in any order and no binarizer input is ever
exactly 0: the C must agree with onnxruntime bit for bit.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from onnx_builders import BuiltModel, _Graph


def dyadic(rng, shape, top=16):
    return (rng.integers(-top, top + 1, shape) / 8).astype(np.float32)


def _bn(g, rng, y, c, zero_gamma):
    gamma = dyadic(rng, c)
    gamma[gamma == 0] = 0.5
    if zero_gamma:
        gamma[rng.random(c) < 0.2] = 0.0
    beta = ((2 * rng.integers(-2000, 2000, c) + 1) / 4096).astype(np.float32)
    var = (4.0 ** rng.integers(-1, 2, c)).astype(np.float32)
    return g.node("BatchNormalization", [y, g.const("gamma", gamma), g.const("beta", beta),
                                         g.const("mean", dyadic(rng, c)), g.const("var", var)], base="bn", epsilon=0.0)


def first_conv(seed, c=1, m=8, hw=(9, 9), k=3, stride=1, pads=(1, 1, 1, 1), pool=None, bias=True, zero_gamma=True,
               dilation=1, nhwc=False) -> BuiltModel:
    """[NHWC x -> Transpose] Conv (c -> m, k x k) [-> MaxPool pool x pool, stride pool] -> BN -> Sign
    -> binary 1x1 conv."""
    rng = np.random.default_rng(seed)
    g = _Graph()
    x = g.node("Transpose", ["x"], base="to_nchw", perm=[0, 3, 1, 2]) if nhwc else "x"
    inputs = [x, g.const("w", dyadic(rng, (m, c, k, k)))] + ([g.const("b", dyadic(rng, m))] if bias else [])
    y = g.node("Conv", inputs, base="conv", kernel_shape=[k, k], strides=[stride, stride], pads=list(pads),
               dilations=[dilation, dilation])
    span = dilation * (k - 1) + 1
    ho = (hw[0] + pads[0] + pads[2] - span) // stride + 1
    wo = (hw[1] + pads[1] + pads[3] - span) // stride + 1
    if pool:
        y = g.node("MaxPool", [y], base="pool", kernel_shape=[pool, pool], strides=[pool, pool])
        ho, wo = ho // pool, wo // pool
    pre = _bn(g, rng, y, m, zero_gamma)
    s = g.node("Sign", [pre], base="sign")
    wb = g.const("wb", np.where(rng.random((3, m, 1, 1)) < 0.5, -1.0, 1.0).astype(np.float32))
    out = g.node("Conv", [s, wb], base="bconv", kernel_shape=[1, 1])
    return _finish(g, ((1,) + tuple(hw) + (c,)) if nhwc else ((1, c) + tuple(hw)), out, (1, 3, ho, wo), pre)


def first_dense(seed, k=20, n=40, zero_gamma=True) -> BuiltModel:
    """Gemm (k -> n) -> BN -> Sign -> binary MatMul (n -> 5)."""
    rng = np.random.default_rng(seed)
    g = _Graph()
    y = g.node("Gemm", ["x", g.const("w", dyadic(rng, (k, n))), g.const("b", dyadic(rng, n))], base="gemm")
    pre = _bn(g, rng, y, n, zero_gamma)
    s = g.node("Sign", [pre], base="sign")
    out = g.node("MatMul", [s, g.const("wb", np.where(rng.random((n, 5)) < 0.5, -1.0, 1.0).astype(np.float32))])
    return _finish(g, (1, k), out, (1, 5), pre)


def _finish(g, x_shape, out, out_shape, pre) -> BuiltModel:
    graph = helper.make_graph(g.nodes, "first_layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, list(out_shape))], initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    # with non-dyadic inputs the float sums' rounding depends on their order
    return BuiltModel(model, "sign", tuple(x_shape), tuple(out_shape), presign=[pre], order_dependent=[(pre, np.float32(0))])


def random_first_layer(rng) -> BuiltModel:
    """A random first layer of either kind (the sanitizer and fuzz sets)."""
    if rng.random() < 0.2:
        return first_dense(int(rng.integers(1 << 30)), int(rng.integers(1, 60)), int(rng.integers(1, 70)),
                           zero_gamma=bool(rng.random() < 0.5))
    k = int(rng.choice([1, 3, 3, 5]))
    pad = int(rng.integers(0, k // 2 + 1))
    hw = (int(rng.integers(k + 2, 14)), int(rng.integers(k + 2, 14)))
    return first_conv(int(rng.integers(1 << 30)), c=int(rng.choice([1, 1, 3, 4])), m=int(rng.integers(1, 40)), hw=hw, k=k,
                      stride=int(rng.choice([1, 1, 2])), pads=(pad,) * 4, pool=2 if rng.random() < 0.3 else None,
                      zero_gamma=bool(rng.random() < 0.5), nhwc=bool(rng.random() < 0.2))


def inputs(rng, built: BuiltModel, n: int) -> np.ndarray:
    return dyadic(rng, (n,) + tuple(built.input_shape[1:]), top=24)
