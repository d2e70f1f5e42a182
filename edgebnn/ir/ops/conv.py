"""``conv``: f32 -> f32 (Ho, Wo, M), a float convolution with ``weight`` float32 (M, C, kh, kw).
It reads its input through element ``strides_in`` (c, h, w) (any NCHW/NHWC view, no copy);
``in_chw`` is the logical input.  Sums run over taps, then input channels, as the C does.

Kernels: ``bits`` when its output only feeds a binarizer, maybe through a float max-pool
(real_bits.py: the fused op writes the bits, its float map never exists), else portable."""
from __future__ import annotations

import numpy as np

from . import real_bits
from .base import PORTABLE, Kernel
from .window import WindowOp, taps, valid_taps

QUAD = 64  # EBNN_FCONV_QUAD in runtime_c/ebnn_fconv.c


class Conv(WindowOp):
    kind = "conv"
    source = "ebnn_conv.c"
    kernels = (real_bits.BITS, Kernel(PORTABLE))

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
        ho, wo, m = graph.tensors[op.result].shape
        acc = np.zeros((len(x), ho, wo, m), np.float32)
        with np.errstate(all="ignore"):  # infinities and NaN as the C computes them
            for t, (ih, iw, valid) in enumerate(taps(op)):
                i, j = divmod(t, op.attrs["kernel"][1])
                for ic in range(c):
                    term = xl[:, ic, ih, iw][..., None] * wt[None, None, None, :, ic, i, j]
                    acc = np.where(valid[None, :, :, None], (acc + term).astype(np.float32), acc)
        return acc.reshape(len(x), -1)

    def absorbs(self, graph, op, epilogue, optimized):
        return super().absorbs(graph, op, epilogue, optimized) and real_bits.absorbs(graph, op, epilogue, pool=True)

    def scratch_bytes(self, graph, op):
        """The bits kernel's copies of windows (zeros for padded taps): a pool window's conv
        pixels, else four pixels (windows of up to QUAD values) or two, or the 3x6 region of
        four pixels of a 3x3 conv."""
        if op.attrs["c_kernel"] != real_bits.BITS.name:
            return 0
        pool = real_bits.pool_of(op)
        window = op.attrs["in_chw"][0] * int(np.prod(op.attrs["kernel"]))
        if pool:
            return 4 * window * int(np.prod(pool.attrs["kernel"]))
        return 4 * max(4 * window if window <= QUAD else 2 * window, 18)

    def c_call(self, em, op):
        sc, sh, sw = op.attrs["strides_in"]
        if op.attrs["c_kernel"] == real_bits.BITS.name:
            w = real_bits.signed_weights(em.graph, op, em.graph.consts[op.attrs["weight"]].transpose(0, 2, 3, 1))
            w = em.const(em.p + "_w", "float", w)
            return (f"ebnn_conv_f32_bin({em.src(op)}, {w}, {em.dst(op)}, {self.window(em, op)}, {sc}, {sh}, {sw}, "
                    f"{real_bits.pool_args(em, op)}, {real_bits.binarizer_args(em, op)}, {em.scratch(op)})")
        w = em.const(em.p + "_w", "float", em.graph.consts[op.attrs["weight"]])
        return f"ebnn_conv_f32({em.src(op)}, {w}, {em.dst(op)}, {self.window(em, op)}, {sc}, {sh}, {sw})"

    def sources(self, graph, op):
        return real_bits.SOURCES if op.attrs["c_kernel"] == real_bits.BITS.name else (self.source,)

    def report(self, graph, op):
        out = graph.tensors[op.result]
        macs = out.size * op.attrs["in_chw"][0] * int(np.prod(op.attrs["kernel"]))
        weights = macs // out.rows
        return {"binary_macs": 0, "real_macs": macs, "weights": weights, "weight_bits": 32 * weights,
                "format": op.attrs.get("format", "float32"), "stored_bytes": graph.consts[op.attrs["weight"]].nbytes}

    def cost_features(self, graph, op):
        out = graph.tensors[op.result]
        return [1, out.size, valid_taps(op) * out.channels * op.attrs["in_chw"][0]]
