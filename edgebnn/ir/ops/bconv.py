"""``bconv``: bits (H, W, Cin) -> i32 (Ho, Wo, Cout), a binary convolution.  ``weight``: ±1
int8 (M, C, kh, kw), packed by ``passes.packing`` to uint32 (M, kh, kw, words(C)) like the NHWC
input; a sparse layer also has a connection ``mask`` and a stored form (``format``).
``pad_mode``: 0 pads with zeros (padded taps add nothing), 1 with +1, -1 with -1.

Kernels, best first: the pooled kernel (the transposed one with a per-channel threshold and
optionally a max-pool on its bits as epilogues: it writes the pooled bits, no accumulator map
exists), the transposed kernel (unit horizontal stride, windows of at most 1024
bits; it keeps a list of the window's set bits in arena scratch), the grouped kernel for
windows of 9 to 96 words, the sparse kernels and the portable kernel.  The optimised kernels
take a ``threshold`` epilogue (passes/fusion.py)."""
from __future__ import annotations

import numpy as np

from .. import bits
from ..weight_layouts import (conv_t_list, fits, group_rows, pair_counts, pool_scratch_bytes, pool_tables,
                              transpose_conv)
from .base import PORTABLE, Kernel
from .bdense import THRESHOLD, dots
from .binary import SPARSE_FORMATS, BinaryLayer, mask_work, weight_rows
from .threshold import per_channel
from .window import WindowOp, outside_masks, taps, valid_taps

POOLED = Kernel("pooled", True, ("threshold", "maxpool"), plain=False)


class BConv(BinaryLayer, WindowOp):
    kind = "bconv"
    source, opt_source = "ebnn_conv.c", "ebnn_opt_conv.c"
    kernels = (POOLED, Kernel("transposed", True, THRESHOLD), Kernel("grouped", True, THRESHOLD),
               *(Kernel(f) for f in SPARSE_FORMATS), Kernel(PORTABLE))

    def infer(self, graph, inputs, attrs):
        cin = graph.tensors[inputs[0]].channels
        m = graph.consts[attrs["weight"]].shape[0]
        return "i32", tuple(attrs["out_hw"]) + (m,), cin * int(np.prod(attrs["kernel"]))

    def reference(self, graph, op, x):
        src, dst = graph.tensors[op.inputs[0]], graph.tensors[op.result]
        h, w, c = src.shape
        words = x.reshape(len(x), h, w, -1)
        wt = graph.consts[op.attrs["weight"]]  # (M, kh, kw, wc)
        mode = op.attrs["pad_mode"]
        pad_word = bits.pack(np.full(c, mode < 0))  # the words of a -1 or +1 pixel
        mask = graph.consts[op.attrs["mask"]] if "mask" in op.attrs else None
        ho, wo, m = dst.shape
        d = np.zeros((len(x), ho, wo, m), np.int64)
        for t, (ih, iw, valid) in enumerate(taps(op)):
            i, j = divmod(t, op.attrs["kernel"][1])
            xin = words[:, ih, iw, :]  # (B, Ho, Wo, wc)
            if mode:
                xin = np.where(valid[None, :, :, None], xin, pad_word)
            tap = dots(xin, wt[:, i, j, :], None if mask is None else mask[:, i, j, :], c)
            d += np.where(valid[None, :, :, None] | bool(mode), tap, 0)
        return d.astype(np.int32).reshape(len(x), -1)

    def pack(self, op, flags):
        return bits.pack(flags.transpose(0, 2, 3, 1))

    def per_output(self, graph, op):
        return graph.tensors[op.inputs[0]].channels * int(np.prod(op.attrs["kernel"]))

    def weights(self, graph, op, macs):
        return macs // graph.tensors[op.result].rows

    def huffman_scratch_words(self, graph, op):
        return 2 * graph.consts[op.attrs["mask"]][0].size  # one output channel's mask and sign words

    def applies(self, graph, op, kernel):
        fmt = op.attrs["format"]
        if kernel.name in SPARSE_FORMATS or fmt != "bits":
            return kernel.name == fmt
        if kernel.name in ("transposed", "pooled"):
            return conv_t_list(graph, op) > 0
        return fits(weight_rows(graph, op).shape[1]) if kernel.name == "grouped" else True

    def _runs(self, graph, op, kernel, epilogues, optimized):
        if kernel is POOLED and not _poolable(graph, op, epilogues):
            return False
        return super()._runs(graph, op, kernel, epilogues, optimized)

    def scratch_bytes(self, graph, op):
        kernel = op.attrs["c_kernel"]
        if kernel == "pooled":
            return pool_scratch_bytes(graph, op)
        return 4 * conv_t_list(graph, op) if kernel == "transposed" else 0

    def sources(self, graph, op):
        return super().sources(graph, op) + (("ebnn_opt_conv_pool.c",) if op.attrs["c_kernel"] == "pooled" else ())

    def c_call(self, em, op):
        a, kernel = op.attrs, op.attrs["c_kernel"]
        src, dst, pad = em.src(op), em.dst(op), a["pad_mode"]
        if kernel == "words":
            return f"ebnn_bconv_words({src}, {self.words_arrays(em, op)}, {dst}, {self.window(em, op)}, {pad})"
        if kernel == "masked":
            return f"ebnn_bconv_masked({src}, {self.masked_arrays(em, op)}, {dst}, {self.window(em, op)}, {pad})"
        if kernel == "huffman":
            table, code, signs = self.huffman_call(em, op)
            return (f"ebnn_bconv_huff({src}, {table}, {code}, {signs}, {dst}, {self.window(em, op)}, {pad}, "
                    f"{em.dst(op, 1)})")
        raw, thr = weight_rows(em.graph, op), "thr_" if op.epilogues else ""
        if kernel == "pooled":
            return self._pooled(em, op, raw)
        if kernel == "transposed":
            return self._transposed(em, op, raw, f"ebnn_bconv_{thr}t")
        w = em.const(em.p + "_w", "uint32_t", group_rows(raw) if kernel == "grouped" else raw)
        if kernel == PORTABLE:
            return f"ebnn_bconv({src}, {w}, {dst}, {self.window(em, op)}, {pad})"
        return f"ebnn_bconv_{thr}opt({src}, {w}, {dst}, {self.window(em, op)}, {pad}{em.epilogue_args(op)})"

    def _transposed(self, em, op, raw, function: str) -> str:
        """Per output pixel, vertical sums of the weights over the window's set input bits,
        listed once per input column (the list lives in arena scratch)."""
        a = op.attrs
        kh, kw = a["kernel"]
        wt, tw, ttap = transpose_conv(raw, kh, kw, raw.shape[1] // (kh * kw))
        w = em.const(em.p + "_wt", "uint32_t", wt)
        t = em.const(em.p + "_twp", "uint32_t", pair_counts(tw))
        zero_pad = a["pad_mode"] == 0 and any(a["pad"])
        tt = em.const(em.p + "_ttap", "uint16_t", ttap.reshape(-1)) if zero_pad else "0"
        geom = self.window(em, op)
        return (f"{function}({em.src(op)}, {w}, {t}, {tt}, {em.dst(op)}, {geom}, {a['pad_mode']}"
                f"{em.epilogue_args(op)}, {em.scratch(op)})")

    def _pooled(self, em, op, raw) -> str:
        """ebnn_bconv_pool_t: the transposed kernel's weights in channel order, the threshold
        as bit planes of per-lane offsets (one table per kind of border window under ONNX zero
        padding: index arrays per output row and column), the pool's geometry and OR mask."""
        a, g = op.attrs, em.graph
        (kh, kw), cin = a["kernel"], g.tensors[op.inputs[0]].channels
        wt, tw, ttap = transpose_conv(raw, kh, kw, raw.shape[1] // (kh * kw), paired=False)
        thr_op = op.epilogues[0]
        thr, neg = per_channel(thr_op.attrs["thr"], thr_op.attrs["neg"], len(tw))
        rows, cols = outside_masks(op) if a["pad_mode"] == 0 else (np.zeros(1, int), np.zeros(1, int))
        (row_kinds, row_at), (col_kinds, col_at) = (np.unique(v, return_inverse=True) for v in (rows, cols))
        configs = [(int(r), int(c)) for r in row_kinds for c in col_kinds]
        f, m, xw = pool_tables(tw, ttap, thr, neg, kh * kw * cin, kh, configs)
        w = em.const(em.p + "_wt", "uint32_t", wt)
        f = em.const(em.p + "_f", "uint32_t", f)
        xw = em.const(em.p + "_x", "uint32_t", xw)
        at = "0, 0, 1"
        if len(configs) > 1:
            at = (f"{em.const(em.p + '_rk', 'uint8_t', row_at.reshape(-1))}, "
                  f"{em.const(em.p + '_ck', 'uint8_t', col_at.reshape(-1))}, {len(col_kinds)}")
        pool = em.epilogue_args_of(op.epilogues[1:]) if len(op.epilogues) > 1 else ", 0, 0"
        return (f"ebnn_bconv_pool_t({em.src(op)}, {w}, {f}, {m}, {at}, {em.dst(op)}, {self.window(em, op)}, "
                f"{a['pad_mode']}, {xw}{pool}, {em.scratch(op)})")

    def cost_features(self, graph, op):
        out, inp = graph.tensors[op.result], graph.tensors[op.inputs[0]]
        p, m_out = out.rows, out.channels
        words = (inp.channels + 31) // 32
        kh, kw = op.attrs["kernel"]
        n_taps = valid_taps(op)
        if "mask" in op.attrs:
            m, nz, conn, slow = mask_work(graph, op)
            share = n_taps / (p * kh * kw)  # the fraction of taps inside the image
            # each channel's mask and signs are decoded once; a channel without connections
            # skips every pixel, the others visit every tap and word of every pixel and do
            # the XOR-popcount work on the non-zero words only (few features, so that the fit
            # stays determined on a few dozen layers)
            live = int(np.count_nonzero(m.reshape(m_out, -1).any(axis=1)))
            return [1, p * m_out, p * live, p * live * kh * kw * words, p * nz * share, conn + m.size, slow]
        return [1, p, p * m_out, p * m_out * kh, p * m_out * kh * kw, n_taps * m_out * words]


def _poolable(graph, op, epilogues) -> bool:
    """The pooled kernel computes these epilogues: a threshold per channel, then optionally a
    max-pool of its bits without dilation (each conv pixel is then in a range of windows)."""
    if [e.kind for e in epilogues] not in (["threshold"], ["threshold", "maxpool"]):
        return False
    t = epilogues[0]
    if "thr" not in t.attrs or per_channel(t.attrs["thr"], t.attrs["neg"], graph.tensors[t.inputs[0]].channels) is None:
        return False
    return len(epilogues) == 1 or tuple(epilogues[1].attrs["dilation"]) == (1, 1)
