"""Random sparse binary (SBNN) layers written with ``onnx.helper``, in both forms:

- ``pruned``: bipolar weights with exact zeros, {-s_c, 0, +s_c} (a constant 0/1 mask
  multiplied into ±1 weights in-graph, or zeros already in the tensor);
- ``twolevel``: {beta_c, alpha_c} per output channel, mostly beta (beta often 0), alpha the
  rare "1" state at the given connection rate.
Values are dyadic (k / 8), so onnxruntime's float sums are exact and C == onnxruntime exactly.
"""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

from onnx_builders import BuiltModel, DenseInfo

FORMS = ("pruned", "twolevel")


def connections(rng, shape, density, block=1):
    """Random 0/1 connections of weights (out, in, ...); with ``block`` > 1, whole runs of
    ``block`` input channels are kept or pruned together (word-structured, 3PXNet-style)."""
    blocks = (shape[0], -(-shape[1] // block)) + tuple(shape[2:])
    return np.repeat(rng.random(blocks) < density, block, axis=1)[:, :shape[1]]


def sparse_weights(rng, shape, density, form, in_graph_mask=False, block=1):
    """(weights (out, ...) float32, optional mask to multiply in-graph) for one layer."""
    n = shape[0]
    connected = connections(rng, shape, density, block)
    per_channel = (n,) + (1,) * (len(shape) - 1)
    if form == "pruned":
        signs = rng.choice([-1.0, 1.0], shape)
        scale = rng.choice([0.5, 1.0, 1.5], n).reshape(per_channel)
        if in_graph_mask:
            return (signs * scale).astype(np.float32), connected.astype(np.float32)
        return np.where(connected, signs * scale, 0.0).astype(np.float32), None
    alpha = rng.choice([0.5, 1.0, 0.75, -0.5], n).reshape(per_channel)
    beta = rng.choice([0.0, 0.0, -0.25, 0.125], n).reshape(per_channel)
    return np.where(connected, alpha, beta).astype(np.float32), None


class _Net:
    def __init__(self, block=1):
        self.nodes, self.inits, self.layers, self.presign, self.k = [], [], [], [], 0
        self.block = block

    def const(self, name, value):
        self.inits.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    def node(self, op, inputs, out, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    def weights(self, rng, name, shape, density, form):
        w, mask = sparse_weights(rng, shape, density, form, in_graph_mask=rng.random() < 0.5, block=self.block)
        if mask is None:
            return self.const(name, w)
        return self.node("Mul", [self.const(name + "_pm", w), self.const(name + "_mask", mask)], name)

    def bn_sign(self, rng, y, c, name, spatial=False, last=False):
        shape = (c, 1, 1) if spatial else (c,)
        gamma = rng.normal(size=c).astype(np.float32)
        gamma[rng.random(c) < 0.2] *= -1
        p = [self.const(f"{name}_{k}", v) for k, v in (
            ("g", gamma), ("b", rng.normal(size=c) * 0.7 + 0.37), ("m", rng.normal(size=c)),
            ("v", rng.uniform(0.5, 2.0, c)))]
        z = self.node("BatchNormalization", [y] + p, f"{name}_bn")
        del shape
        if last:
            return z
        self.presign.append(z)
        return self.node("Sign", [z], f"{name}_sign")


def _finish(net, x_shape, out, out_shape) -> BuiltModel:
    g = helper.make_graph(net.nodes, "sbnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
                          [helper.make_tensor_value_info(out, TensorProto.FLOAT, list(out_shape))], net.inits)
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    return BuiltModel(model, "sign", tuple(x_shape), tuple(out_shape), net.layers, net.presign)


def build_sparse_mlp(rng, density, form, dims=(100, 70, 40, 10), block=1) -> BuiltModel:
    net = _Net(block)
    a = net.node("Sign", ["x"], "in_sign")
    for i, (k, n) in enumerate(zip(dims[:-1], dims[1:])):
        w = net.weights(rng, f"w{i}", (n, k), density, form)
        wt = net.node("Transpose", [w], f"w{i}_t", perm=[1, 0])
        y = net.node("MatMul", [a, wt], f"dense{i}")
        net.layers.append(DenseInfo(f"dense{i}", k, n, True, form))
        a = net.bn_sign(rng, y, n, f"l{i}", last=i == len(dims) - 2)
    return _finish(net, (1, dims[0]), a, (1, dims[-1]))


def build_sparse_cnn(rng, density, form, c0=3, hw=(9, 11), channels=(20, 33), pad=None, block=1) -> BuiltModel:
    net = _Net(block)
    a = net.node("Sign", ["x"], "in_sign")
    c, (h, w) = c0, hw
    for i, m in enumerate(channels):
        pad_i = int(rng.integers(0, 2)) if pad is None else pad
        wname = net.weights(rng, f"cw{i}", (m, c, 3, 3), density, form)
        y = net.node("Conv", [a, wname], f"conv{i}", kernel_shape=[3, 3], pads=[pad_i] * 4)
        h, w = h + 2 * pad_i - 2, w + 2 * pad_i - 2
        net.layers.append(DenseInfo(f"conv{i}", c * 9, m * h * w, True, form))
        a = net.bn_sign(rng, y, m, f"c{i}", spatial=True)
        c = m
    flat = net.node("Flatten", [a], "flatten", axis=1)
    k, n = c * h * w, 10
    wd = net.weights(rng, "wd", (k, n), density, form)
    y = net.node("MatMul", [flat, wd], "dense")
    net.layers.append(DenseInfo("dense", k, n, True, form))
    return _finish(net, (1, c0) + tuple(hw), net.bn_sign(rng, y, n, "out", last=True), (1, n))
