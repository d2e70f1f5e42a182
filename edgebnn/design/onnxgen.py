"""An architecture (arch.py) -> an ONNX model with random weights, written the way the
exporters of examples/ write trained ones (the same ops the test builders use): binarizers
``Where(GreaterOrEqual(x, 0), 1, -1)``, binary weights ±alpha per output channel with exact
zeros for the missing connections, BatchNormalization before every binarizer, a float output.

The weights are random at the layer's connection rate, so the sparse layers' masks have the
entropy a trained mask of that rate has at most: their stored size is what a trained model
of this shape costs (or a little more).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from . import arch as archs


class _G:
    def __init__(self):
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, base):
        self.n += 1
        return f"{base}_{self.n}"

    def const(self, base, value, dtype=np.float32):
        name = self.name(base)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def node(self, op, inputs, base, **attrs):
        out = self.name(base)
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def sign(self, x):
        ge = self.node("GreaterOrEqual", [x, self.const("zero", 0.0)], "ge")
        return self.node("Where", [ge, self.const("one", 1.0), self.const("minus_one", -1.0)], "sign")

    def bn(self, rng, x, c):
        p = [self.const(k, v) for k, v in (("gamma", rng.uniform(0.5, 1.5, c)), ("beta", rng.normal(0, 0.5, c)),
                                           ("mean", rng.normal(0, 2.0, c)), ("var", rng.uniform(0.5, 4.0, c)))]
        return self.node("BatchNormalization", [x] + p, "bn")


def binary_weights(rng, shape, rate):
    """±alpha_c per output channel, zero where a connection is missing (rate < 1)."""
    alpha = rng.uniform(0.01, 0.1, shape[0]).reshape((-1,) + (1,) * (len(shape) - 1))
    w = rng.choice([-1.0, 1.0], shape) * alpha
    if rate < 1:
        w = np.where(rng.random(shape) < rate, w, 0.0)
    return w.astype(np.float32)


def build(arch: dict, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    g = _G()
    c, h, w = arch["input"]
    x, binary_in, flat = "x", False, False
    layers = arch["layers"]
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        if not layer.get("real") and not binary_in:  # a binary layer reads bits: binarize the pixels
            x = g.sign(g.node("Sub", [g.node("Mul", [x, g.const("two", 2.0)], "scale"), g.const("one", 1.0)], "shift"))
            binary_in = True
        if layer["op"] == "conv":
            k, s, m = layer["k"], layer["stride"], layer["out"]
            if layer.get("real"):
                wt = rng.normal(0, 0.3, (m, c, k, k)).astype(np.float32)
                ins = [x, g.const("w", wt), g.const("b", rng.normal(0, 0.1, m))]
            else:
                ins = [x, g.const("w", binary_weights(rng, (m, c, k, k), layer["rate"]))]
            x = g.node("Conv", ins, "conv", kernel_shape=[k, k], strides=[s, s], pads=[k // 2] * 4)
            c, h, w = m, archs.conv_out(h, k, s), archs.conv_out(w, k, s)
            if layer.get("pool"):
                x = g.node("MaxPool", [x], "pool", kernel_shape=[2, 2], strides=[2, 2])
                h, w = h // 2, w // 2
        else:
            if not flat:  # the input or a convolution's (1, C, H, W) output
                x, flat = g.node("Flatten", [x], "flatten", axis=1), True
            k, n = c * h * w, layer["out"]
            if layer.get("real"):
                x = g.node("Gemm", [x, g.const("w", rng.normal(0, 0.1, (n, k))), g.const("b", rng.normal(0, 0.1, n))],
                           "gemm", transB=1)
            else:
                x = g.node("MatMul", [x, g.const("w", binary_weights(rng, (n, k), layer["rate"]).T.copy())], "matmul")
            c, h, w = n, 1, 1
        x = g.bn(rng, x, c)
        if not last:
            x, binary_in = g.sign(x), True
    out_shape = [1, c] if (h, w) == (1, 1) else [1, c, h, w]
    graph = helper.make_graph(g.nodes, "design", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                                [1, *arch["input"]])],
                              [helper.make_tensor_value_info(x, TensorProto.FLOAT, out_shape)], g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
