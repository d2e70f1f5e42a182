"""``bdense``: bits (K) -> i32 (N), ``dot = K - 2 * popcount(a ^ w)`` per output.  ``weight``:
±1 int8 (N, K), column j at input slot ``slots[j]`` of a row of ``total`` slots, packed to
uint32 words by ``passes.packing``; a sparse layer also has a connection ``mask`` and a
stored form (``format``, passes/encoding.py).

Kernels, best first: the transposed kernel (vertical sums of the weights over the set input
bits) for rows of 128 to 1024 bits, the grouped kernel for rows of 9 to 96 words, for shorter
rows a plain-weight kernel that writes a threshold epilogue's bits, the sparse kernels and the
portable kernel.  Every optimised kernel takes a ``threshold`` epilogue (passes/fusion.py)."""
from __future__ import annotations

import numpy as np

from .. import bits
from ..weight_layouts import SHORT_WORDS, fits, fits_t, group_rows, short_thresholds, t_bounds, t_list_bytes, transpose_rows
from .base import PORTABLE, Kernel
from .binary import SPARSE_FORMATS, BinaryLayer, mask_work, weight_rows

THRESHOLD = ("threshold",)


def dots(x, w, mask, per_row: int):
    """±1 dot products of words x (..., words) with rows w (N, words), summed over the last
    axis: ``per_row - 2 * popcount(x ^ w)``, or with a connection mask
    ``popcount(m) - 2 * popcount(m & (x ^ w))``."""
    diff = x[..., None, :] ^ w
    if mask is None:
        return per_row - 2 * bits.popcount(diff).sum(axis=-1)
    return bits.popcount(mask).sum(axis=-1) - 2 * bits.popcount(mask & diff).sum(axis=-1)


class BDense(BinaryLayer):
    kind = "bdense"
    source, opt_source = "ebnn_dense.c", "ebnn_opt_dense.c"
    kernels = (Kernel("transposed", True, THRESHOLD), Kernel("grouped", True, THRESHOLD),
               Kernel("short", True, THRESHOLD), Kernel("small", True, THRESHOLD, plain=False),
               *(Kernel(f) for f in SPARSE_FORMATS), Kernel(PORTABLE))

    def infer(self, graph, inputs, attrs):
        return "i32", (graph.consts[attrs["weight"]].shape[0],), int(attrs["k"])

    def reference(self, graph, op, x):
        mask = graph.consts[op.attrs["mask"]] if "mask" in op.attrs else None
        return dots(x, graph.consts[op.attrs["weight"]], mask, op.attrs["k"]).astype(np.int32)

    def pack(self, op, flags):
        return bits.pack_at(flags, op.attrs["slots"], op.attrs["total"])

    def per_output(self, graph, op):
        return op.attrs["k"]

    def applies(self, graph, op, kernel):
        fmt = op.attrs["format"]
        if kernel.name in SPARSE_FORMATS or fmt != "bits":
            return kernel.name == fmt
        words = weight_rows(graph, op).shape[1]
        if kernel.name == "transposed":  # integer inputs, or a tight SRAM budget: no list of set bits
            return fits_t(op.attrs["k"], words) and not (graph.input_quant or graph.least_sram)
        if kernel.name == "short":
            return words <= SHORT_WORDS
        return fits(words) if kernel.name == "grouped" else True

    def scratch_bytes(self, graph, op):
        words = weight_rows(graph, op).shape[1]
        if op.attrs["c_kernel"] == "grouped":  # the activations, grouped once
            return 12 * ((words + 2) // 3)
        return t_list_bytes(words) if op.attrs["c_kernel"] == "transposed" else 0

    def c_call(self, em, op):
        a, kernel = op.attrs, op.attrs["c_kernel"]
        src, dst = em.src(op), em.dst(op)
        in_words, n, k = em.graph.tensors[op.inputs[0]].words, em.graph.tensors[op.result].size, a["k"]
        if kernel == "words":
            return f"ebnn_bdense_words({src}, {self.words_arrays(em, op)}, {dst}, {n})"
        if kernel == "masked":
            return f"ebnn_bdense_masked({src}, {self.masked_arrays(em, op)}, {dst}, {in_words}, {n})"
        if kernel == "huffman":
            table, code, signs = self.huffman_call(em, op)
            return f"ebnn_bdense_huff({src}, {table}, {code}, {signs}, {dst}, {in_words}, {n}, {em.dst(op, 1)})"
        raw, thr = weight_rows(em.graph, op), "thr_" if op.epilogues else ""
        if kernel == "transposed" and op.epilogues:
            return self._bounded_t(em, op, raw)
        if kernel == "transposed":
            wt, tw = transpose_rows(raw)
            w, t = em.const(em.p + "_wt", "uint32_t", wt), em.const(em.p + "_tw", "int32_t", tw)
            lst = em.scratch_ptr()  # the list of set bits, in the arena
            return f"ebnn_bdense_{thr}t({src}, {w}, {t}, {dst}, {k}, {raw.shape[1]}, {n}{em.epilogue_args(op)}, {lst})"
        if kernel == "short":
            return self._short(em, op, raw)
        w = em.const(em.p + "_w", "uint32_t", group_rows(raw) if kernel == "grouped" else raw)
        if kernel == PORTABLE:
            return f"ebnn_bdense({src}, {w}, {dst}, {k}, {in_words}, {n})"
        name = f"{thr}opt" if kernel == "grouped" else "thr_small"
        scratch = f", {em.scratch_ptr()}" if kernel == "grouped" else ""
        return f"ebnn_bdense_{name}({src}, {w}, {dst}, {k}, {in_words}, {n}{em.epilogue_args(op)}{scratch})"

    def _bounded_t(self, em, op, raw):
        """The transposed kernel with its threshold folded into one bound per output."""
        a, e_op = op.attrs, op.epilogues[0]
        real = bits.pack_at(np.ones((1, a["k"]), bool), a["slots"], a["total"])
        wt, _, pq = t_bounds(raw, real, a["k"], e_op.attrs["thr"], e_op.attrs["neg"])
        w, b = em.const(em.p + "_wt", "uint32_t", wt), em.const(em.p + "_pq", "int32_t", pq)
        lst = em.scratch_ptr()  # the list of set bits, in the arena
        return f"ebnn_bdense_bnd_t({em.src(op)}, {w}, {b}, {em.dst(op)}, {raw.shape[1]}, {len(raw)}, {lst})"

    def _short(self, em, op, raw):
        """Rows of at most SHORT_WORDS words; a threshold becomes one bias per output."""
        a, src, dst = op.attrs, em.src(op), em.dst(op)
        n, words = raw.shape
        if not op.epilogues:
            w = em.const(em.p + "_w", "uint32_t", raw)
            return f"ebnn_bdense_short({src}, {w}, {dst}, {a['k']}, {words}, {n})"
        e_op = op.epilogues[0]
        real = bits.pack_at(np.ones((1, a["k"]), bool), a["slots"], a["total"])
        rows, e = short_thresholds(raw, real, a["k"], e_op.attrs["thr"], e_op.attrs["neg"])
        w, b = em.const(em.p + "_w", "uint32_t", rows), em.const(em.p + "_e", "uint32_t", e)
        return f"ebnn_bdense_thr_short({src}, {w}, {dst}, {words}, {n}, {b})"

    def cost_features(self, graph, op):
        out, inp = graph.tensors[op.result], graph.tensors[op.inputs[0]]
        n, words = out.size, (inp.size + 31) // 32 if inp.dtype != "bits" else inp.words
        f = [1, n, n * words]
        if str(op.attrs.get("c_function", "")).endswith("_t"):
            f.append(words)  # the transposed kernel lists the input's bits once per call
        if "mask" in op.attrs:
            _, nz, conn, slow = mask_work(graph, op)
            f += [nz, conn, slow]
        return f
