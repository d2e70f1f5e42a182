"""``maxpool``: the largest value of each window, on bits (any +1 wins: an AND of the bits),
on i32 accumulators (max, or min for the channels in ``use_min``: pooling before a
decreasing BatchNorm) or on f32."""
from __future__ import annotations

import numpy as np

from ..bits import pack
from .window import WindowOp, image, taps


class MaxPool(WindowOp):
    kind = "maxpool"
    source = "ebnn_pool.c"

    def infer(self, graph, inputs, attrs):
        src = graph.tensors[inputs[0]]
        return src.dtype, tuple(attrs["out_hw"]) + (src.channels,), src.fanin

    def reference(self, graph, op, x):
        dtype = graph.tensors[op.inputs[0]].dtype
        xin = image(graph, op, x)
        ho, wo = op.attrs["out_hw"]
        if dtype == "bits":  # any +1 wins: AND of the bits
            acc = np.full((len(x), ho, wo, xin.shape[-1]), 0xFFFFFFFF, np.uint32)
            for ih, iw, valid in taps(op):
                acc = np.where(valid[None, :, :, None], acc & xin[:, ih, iw, :], acc)
        elif dtype == "i32":
            use_min = op.attrs["use_min"]
            acc = np.where(use_min, np.iinfo(np.int32).max, np.iinfo(np.int32).min) * np.ones(
                (len(x), ho, wo, 1), np.int64)
            for ih, iw, valid in taps(op):
                v = xin[:, ih, iw, :]
                best = np.where(use_min, np.minimum(acc, v), np.maximum(acc, v))
                acc = np.where(valid[None, :, :, None], best, acc)
            acc = acc.astype(np.int32)
        else:
            acc = np.full((len(x), ho, wo, xin.shape[-1]), -np.inf, np.float32)
            for ih, iw, valid in taps(op):
                acc = np.where(valid[None, :, :, None], np.fmax(acc, xin[:, ih, iw, :]), acc)
        return acc.reshape(len(x), -1)

    def c_call(self, em, op):
        dtype = em.graph.tensors[op.inputs[0]].dtype
        src, dst, geom = em.src(op), em.dst(op), self.window(em, op)
        if dtype == "i32":
            use_min = em.const(em.p + "_min", "uint32_t", pack(op.attrs["use_min"]))
            return f"ebnn_maxpool_i32({src}, {dst}, {geom}, {use_min})"
        return f"ebnn_maxpool_{'bits' if dtype == 'bits' else 'f32'}({src}, {dst}, {geom})"

    def cost_group(self, graph, op):
        return f"maxpool:{graph.tensors[op.inputs[0]].dtype}"

    def cost_features(self, graph, op):
        out, inp = graph.tensors[op.outputs[0]], graph.tensors[op.inputs[0]]
        return [1, out.rows, out.size, inp.size]
