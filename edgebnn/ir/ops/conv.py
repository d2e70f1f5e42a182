"""``conv``: f32 -> f32 (Ho, Wo, M), a float convolution with ``weight`` float32 (M, C, kh, kw).
It reads its input through element ``strides_in`` (c, h, w) (any NCHW/NHWC view, no copy);
``in_chw`` is the logical input.  Sums run over taps, then input channels, as the C does."""
from __future__ import annotations

import numpy as np

from .window import WindowOp, taps, valid_taps


class Conv(WindowOp):
    kind = "conv"
    source = "ebnn_conv.c"

    def infer(self, graph, inputs, attrs):
        return "f32", tuple(attrs["out_hw"]) + (graph.consts[attrs["weight"]].shape[0],), 0

    def in_channels(self, graph, op):
        return op.attrs["in_chw"][0]

    def reference(self, graph, op, x):
        c, h, w = op.attrs["in_chw"]
        sc, sh, sw = op.attrs["strides_in"]
        ci, hi, wi = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
        xl = x[:, ci * sc + hi * sh + wi * sw]  # (B, C, H, W) logical
        wt = graph.consts[op.attrs["weight"]]  # (M, C, kh, kw)
        ho, wo, m = graph.tensors[op.outputs[0]].shape
        acc = np.zeros((len(x), ho, wo, m), np.float32)
        for t, (ih, iw, valid) in enumerate(taps(op)):
            i, j = divmod(t, op.attrs["kernel"][1])
            for ic in range(c):
                term = xl[:, ic, ih, iw][..., None] * wt[None, None, None, :, ic, i, j]
                acc = np.where(valid[None, :, :, None], (acc + term).astype(np.float32), acc)
        return acc.reshape(len(x), -1)

    def c_call(self, em, op):
        w = em.const(em.p + "_w", "float", em.graph.consts[op.attrs["weight"]])
        sc, sh, sw = op.attrs["strides_in"]
        return f"ebnn_conv_f32({em.src(op)}, {w}, {em.dst(op)}, {self.window(em, op)}, {sc}, {sh}, {sw})"

    def report(self, graph, op):
        out = graph.tensors[op.outputs[0]]
        macs = out.size * op.attrs["in_chw"][0] * int(np.prod(op.attrs["kernel"]))
        weights = macs // out.rows
        return {"binary_macs": 0, "real_macs": macs, "weights": weights, "weight_bits": 32 * weights,
                "format": op.attrs.get("format", "float32"), "stored_bytes": graph.consts[op.attrs["weight"]].nbytes}

    def cost_features(self, graph, op):
        out = graph.tensors[op.outputs[0]]
        return [1, out.size, valid_taps(op) * out.channels * op.attrs["in_chw"][0]]
