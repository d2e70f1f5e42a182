"""Random binary CNNs written with ``onnx.helper`` (shares the MLP builders' core).

    x (1, C, H, W) [or NHWC + Transpose, as tf2onnx writes Larq models]
      -> real 3x3 Conv (+ bias) + BN + binarizer          (real-valued first layer)
      -> 1..3 binary Conv (k 1 or 3, stride 1 or 2, zero padding 0/1 or an explicit
         Pad(value=1)), MaxPool before BN (on accumulators) or after the binarizer
         (on bits), BN with gamma < 0 and gamma = 0 channels, binarizer
      -> Flatten (NCHW order, or NHWC order under tf2onnx) -> binary Gemm -> BN (float output)
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper

from onnx_builders import (BuiltModel, DenseInfo, _Graph, _bn_params, _mt_thresholds, nonzero_floats, pm1)

CNN_PATTERNS = ("sign", "where_ge", "cast_gt", "larq", "bq_brevitas", "multithreshold")


def _out(size, k, stride, pad):
    return (size + 2 * pad - k) // stride + 1


class _Cnn:
    def __init__(self, rng, pattern, opset, nhwc):
        self.rng, self.pattern, self.nhwc = rng, pattern, nhwc
        self.g = _Graph(opset=opset)
        self.layers, self.presign, self.order_dependent, self.mt = [], [], [], []

    def activate(self, y, shape, from_real=False):
        """BN + binarizer (or MultiThreshold) on y of logical shape (1, C, H, W).
        Also keeps the real pre-binarizer tensor (XNOR-Net's activation scale reads it)."""
        g, c = self.g, shape[1]
        if self.pattern == "multithreshold":
            k = self.layers[-1].k if self.layers else 1
            thr = _mt_thresholds(self.rng, c, k, spread=2.0, integer_grid=not from_real)
            a, t = g.multithreshold(y, thr.reshape(-1))
            self.presign.append(y)
            self.mt.append((y, thr))
            return a
        gamma, beta, mean, var = _bn_params(self.rng, c, spread=3.0)
        if self.nhwc:  # tf2onnx: BN as Mul/Add on NHWC, then back to NCHW for the next conv
            y = g.node("Transpose", [y], base="to_nhwc", perm=[0, 2, 3, 1])
            scale = (gamma / np.sqrt(var + 1e-5)).astype(np.float32)
            y = g.node("Mul", [y, g.const("scale", scale)], base="bn_mul")
            y = g.node("Add", [y, g.const("shift", (beta - mean * scale).astype(np.float32))], base="bn_add")
        else:
            y = g.bn_node(y, gamma, beta, mean, var)
        self.presign.append(y)
        if from_real:
            self.order_dependent.append((y, np.float32(0)))
        self.real_act = y
        a = g.binarize(y, self.pattern)
        if self.nhwc:
            a = g.node("Transpose", [a], base="to_nchw", perm=[0, 3, 1, 2])
        return a

    def xnor_scale(self, y, k, stride, pad):
        """XNOR-Net's K: AvgPool(ReduceMean(|A|, channels)) of the real activation A."""
        g = self.g
        mean = g.node("ReduceMean", [g.node("Abs", [self.real_act], base="abs")], base="chmean", axes=[1], keepdims=1)
        kmap = g.node("AveragePool", [mean], base="kpool", kernel_shape=[k, k], strides=[stride, stride],
                      pads=[pad] * 4, count_include_pad=1)
        return g.node("Mul", [y, kmap], base="xnor_k")

    def bconv(self, a, shape, m, k, stride, pad, explicit_pad):
        g, rng = self.g, self.rng
        c, h, w = shape[1:]
        conv_pad = pad
        if explicit_pad and pad:
            a = g.node("Pad", [a, g.const("pads", [0, 0, pad, pad, 0, 0, pad, pad], np.int64),
                               g.const("one", 1.0)], base="pad1", mode="constant")
            conv_pad = 0
        # XNOR-Net alpha, or (newer PyTorch exporter) BN folded in: +-s_c of either sign, and a bias
        alpha = (rng.uniform(0.5, 2.0, m) * rng.choice([-1.0, 1.0], m)).astype(np.float32)
        weights = pm1(rng, (m, c, k, k)) * (alpha.reshape(-1, 1, 1, 1) if rng.rand() < 0.5 else 1)
        bias = [g.const("bias", nonzero_floats(rng, (m,), 0.5))] if rng.rand() < 0.5 else []
        y = g.node("Conv", [a, g.const("w", weights)] + bias, base="bconv", kernel_shape=[k, k],
                   strides=[stride, stride], pads=[conv_pad] * 4)
        ho, wo = _out(h, k, stride, pad), _out(w, k, stride, pad)
        self.layers.append(DenseInfo(g.nodes[-1].name, c * k * k, m * ho * wo, True, "conv"))
        return y, (1, m, ho, wo)

    def maxpool(self, y, shape):
        c, h, w = shape[1:]
        if min(h, w) < 2:
            return y, shape
        y = self.g.node("MaxPool", [y], base="pool", kernel_shape=[2, 2], strides=[2, 2])
        return y, (1, c, h // 2, w // 2)


def build_cnn(rng, pattern="sign", opset=13, nhwc=False, n_convs=None, pool_before=None,
              explicit_pad=None, hw=None, xnor_k=False, gap=False) -> BuiltModel:
    rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    net = _Cnn(rng, pattern, opset, nhwc)
    g = net.g
    c0 = int(rng.randint(1, 4))
    h, w = hw or (int(rng.choice([7, 9, 11, 13])), int(rng.choice([7, 9, 11])))
    if nhwc:
        x_shape = (1, h, w, c0)
        x = g.node("Transpose", ["x"], base="in_nchw", perm=[0, 3, 1, 2])
    else:
        x_shape, x = (1, c0, h, w), "x"
    m0, pad0 = int(rng.randint(3, 20)), int(rng.randint(0, 2))
    y = g.node("Conv", [x, g.const("w0", nonzero_floats(rng, (m0, c0, 3, 3), 0.5)),
                        g.const("b0", nonzero_floats(rng, (m0,), 0.1))],
               base="conv0", kernel_shape=[3, 3], pads=[pad0] * 4)
    shape = (1, m0, _out(h, 3, 1, pad0), _out(w, 3, 1, pad0))
    a = net.activate(y, shape, from_real=True)
    for _ in range(n_convs if n_convs is not None else int(rng.randint(1, 4))):
        k = int(rng.choice([1, 3])) if min(shape[2:]) >= 3 else 1
        stride = int(rng.choice([1, 2])) if min(shape[2:]) >= 4 else 1
        pad = int(rng.randint(0, 2)) if k == 3 else 0
        ep = bool(rng.rand() < 0.5) if explicit_pad is None else explicit_pad
        y, shape = net.bconv(a, shape, int(rng.randint(2, 41)), k, stride, pad, ep and not xnor_k)
        if xnor_k:
            y = net.xnor_scale(y, k, stride, pad)
        before = bool(rng.rand() < 0.5) if pool_before is None else pool_before
        if before:
            y, shape = net.maxpool(y, shape)
        a = net.activate(y, shape, from_real=xnor_k)
        if not before and not xnor_k and rng.rand() < 0.5:  # K reads the unpooled activation
            a, shape = net.maxpool(a, shape)
    n = int(rng.randint(2, 12))
    if gap:  # global average of the +-1 maps, then a real-valued classifier
        a = g.node("GlobalAveragePool", [a], base="gap")
        flat = g.node("Flatten", [a], base="flatten", axis=1)
        out = g.node("Gemm", [flat, g.const("wd", nonzero_floats(rng, (n, shape[1])))], base="dense", transB=1)
        gamma, beta, mean, var = _bn_params(rng, n, spread=1.0, zero_gamma=False)
        return _finish(net, x_shape, g.bn_node(out, gamma, beta, mean, var, base="bn_out"), (1, n))
    if nhwc:  # tf2onnx flattens the NHWC tensor
        a = g.node("Transpose", [a], base="flat_nhwc", perm=[0, 2, 3, 1])
    flat = g.node("Flatten", [a], base="flatten", axis=1)
    k = int(np.prod(shape[1:]))
    out = g.node("Gemm", [flat, g.const("wd", pm1(rng, (n, k)))], base="dense", transB=1)
    net.layers.append(DenseInfo(g.nodes[-1].name, k, n, True, "gemm_tb1"))
    gamma, beta, mean, var = _bn_params(rng, n, spread=3.0, zero_gamma=False)
    out = g.bn_node(out, gamma, beta, mean, var, base="bn_out")
    return _finish(net, x_shape, out, (1, n))


def build_cnv(rng) -> BuiltModel:
    """FINN's CNV topology: 3x3 convs 64, 64, pool, 128, 128, pool, 256, 256 (unpadded),
    dense 256-512-512-10, 32x32x3 input; random weights."""
    rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    net = _Cnn(rng, "sign", 13, False)
    g = net.g
    y = g.node("Conv", ["x", g.const("w0", pm1(rng, (64, 3, 3, 3)))], base="conv0", kernel_shape=[3, 3])
    shape = (1, 64, 30, 30)
    a = net.activate(y, shape, from_real=True)
    for m, pool in ((64, True), (128, False), (128, True), (256, False), (256, False)):
        y, shape = net.bconv(a, shape, m, 3, 1, 0, False)
        if pool:
            y, shape = net.maxpool(y, shape)
        a = net.activate(y, shape)
    a = g.node("Flatten", [a], base="flatten", axis=1)
    k = int(np.prod(shape[1:]))
    for n in (512, 512):
        y = g.node("MatMul", [a, g.const("wd", pm1(rng, (k, n)))], base="dense")
        net.layers.append(DenseInfo(g.nodes[-1].name, k, n, True, "matmul"))
        a, k = net.activate(y, (1, n)), n
    out = g.node("MatMul", [a, g.const("wd", pm1(rng, (k, 10)))], base="dense")
    net.layers.append(DenseInfo(g.nodes[-1].name, k, 10, True, "matmul"))
    return _finish(net, (1, 3, 32, 32), out, (1, 10))


def _finish(net: _Cnn, x_shape, out, out_shape) -> BuiltModel:
    g = net.g
    graph = helper.make_graph(
        g.nodes, "cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, list(out_shape))],
        initializer=g.inits,
    )
    opsets = [helper.make_opsetid("", g.opset)] + [helper.make_opsetid(d, 1) for d in sorted(g.domains)]
    model = helper.make_model(graph, opset_imports=opsets)
    return BuiltModel(model, net.pattern, tuple(x_shape), tuple(out_shape), net.layers, net.presign,
                      mt_thresholds=net.mt, order_dependent=net.order_dependent, custom=bool(g.domains))


def build_pool_cnn(rng, order="pool_bn", cin=32, m=40, hw=(9, 8), stride=1, pad=1, explicit_pad=False,
                   pool=(2, 2, 0)) -> BuiltModel:
    """One binary conv whose output is pooled and binarized, the shape of an XNOR CNN's inner
    layers: x (1, cin, H, W) -> Sign -> 3x3 Conv (+-alpha weights, bias or not; zero padding or
    Pad(value=1)) -> MaxPool (kernel, stride, pads = pool) -> BN -> Sign  (order "pool_bn"), or
    -> BN -> Sign -> MaxPool ("bn_pool"); BN with gammas of both signs and zeros, statistics on
    the scale of the accumulator; the +-1 pooled map flattened is the output."""
    rng = rng if isinstance(rng, np.random.RandomState) else np.random.RandomState(rng)
    net = _Cnn(rng, "sign", 13, False)
    g = net.g
    net.presign.append("x")
    a = g.binarize("x", "sign")
    y, shape = net.bconv(a, (1, cin) + tuple(hw), m, 3, stride, pad, explicit_pad)
    kp, sp, pp = pool

    def maxpool(t, shape):
        h, w = ((s + 2 * pp - kp) // sp + 1 for s in shape[2:])
        return g.node("MaxPool", [t], base="pool", kernel_shape=[kp, kp], strides=[sp, sp], pads=[pp] * 4), \
            (1, shape[1], h, w)

    def activate(t, shape):
        gamma, beta, mean, var = _bn_params(rng, shape[1], spread=float(np.sqrt(cin * 9)))
        t = g.bn_node(t, gamma, beta, mean, var)
        net.presign.append(t)
        return g.binarize(t, "sign")

    if order == "pool_bn":
        y, shape = maxpool(y, shape)
        a = activate(y, shape)
    else:
        a, shape = maxpool(activate(y, shape), shape)
    out = g.node("Flatten", [a], base="flatten", axis=1)
    return _finish(net, (1, cin) + tuple(hw), out, (1, int(np.prod(shape[1:]))))
