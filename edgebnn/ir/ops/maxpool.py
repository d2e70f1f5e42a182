"""``maxpool``: the largest value of each window, on bits (any +1 wins: an AND of the bits;
an OR for the channels in ``or_mask``, where ``passes.pool_bits`` moved a max- or min-pool of
accumulators behind a threshold that flips it), on i32 accumulators (max, or min for the
channels in ``use_min``: pooling before a decreasing BatchNorm) or on f32.

On bits it can be the epilogue of a binary convolution's kernel (after its threshold), which
then writes the pooled bits; ``epilogue_args`` are the pool's geometry and OR mask."""
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
        if dtype == "bits":  # any +1 wins: AND of the bits (OR in or_mask's channels)
            acc = np.full((len(x), ho, wo, xin.shape[-1]), 0xFFFFFFFF, np.uint32)
            anyone = np.zeros_like(acc)
            for ih, iw, valid in taps(op):
                acc = np.where(valid[None, :, :, None], acc & xin[:, ih, iw, :], acc)
                anyone = np.where(valid[None, :, :, None], anyone | xin[:, ih, iw, :], anyone)
            if "or_mask" in op.attrs:
                m = pack(op.attrs["or_mask"])
                acc = (acc & ~m) | (anyone & m)
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
        if dtype == "bits":  # a null mask (0): AND throughout
            mask = self.or_mask(em, op) if "or_mask" in op.attrs else "0"
            return f"ebnn_maxpool_bits({src}, {dst}, {geom}, {mask})"
        return f"ebnn_maxpool_f32({src}, {dst}, {geom})"

    def or_mask(self, em, op) -> str:
        mask = op.attrs.get("or_mask", np.zeros(em.graph.tensors[op.inputs[0]].channels, bool))
        return em.const(em.p + "_or", "uint32_t", pack(mask))

    def epilogue_args(self, em, op):
        return self.window(em, op, "_pool"), self.or_mask(em, op)

    def cost_group(self, graph, op):
        return f"maxpool:{graph.tensors[op.inputs[0]].dtype}"

    def cost_features(self, graph, op):
        out, inp = graph.tensors[op.outputs[0]], graph.tensors[op.inputs[0]]
        return [1, out.rows, out.size, inp.size]
