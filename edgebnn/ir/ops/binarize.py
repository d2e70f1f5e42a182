"""``binarize``: f32 -> bits.  The float step program ``chain`` (ir/chain.py), then +1 (bit 0)
where ``chain(x) >= t`` (``cmp`` "ge") or ``> t`` ("gt"), swapped when ``invert``.

Optimised kernels: when the chain is provably monotone, chain and threshold fold into one
float32 threshold per element, exact for every float32 input (ir/float_threshold.py); one
positive threshold for all is compared as a bit pattern (an integer range check)."""
from __future__ import annotations

import numpy as np

from .. import chain as chains
from ..bits import pack_rows
from ..float_threshold import fold_binarize
from .base import PORTABLE, Kernel, OpKind, same_shape


def _folded(graph, op):
    a, n = op.attrs, graph.tensors[op.outputs[0]].size
    return fold_binarize(a["chain"], a["t"], a["cmp"], bool(a["invert"]), (n,))


def _pattern_bound(graph, op):
    """lo for ebnn_binarize_bits_f32 (x >= t exactly when bits(x) is in [lo, bits(+inf)]), or
    None: one folded threshold t > 0 for every element (t <= 0 takes two ranges of patterns)."""
    folded = _folded(graph, op)
    if folded is None:
        return None
    thr, strict, _ = folded
    t = np.float32(thr.reshape(-1)[0])
    if not np.all(thr == t) or not (t > 0):
        return None
    lo = int(np.array([t], np.float32).view(np.uint32)[0]) + int(strict)
    return lo if lo <= 0x7F800000 else None


class Binarize(OpKind):
    kind = "binarize"
    kernels = (Kernel("pattern", optimized=True), Kernel("folded", optimized=True), Kernel(PORTABLE))
    source = "ebnn_chain.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "bits")

    def reference(self, graph, op, x):
        v = chains.apply(chains.flat(op.attrs["chain"]), x)
        t = op.attrs["t"].reshape(-1)
        holds = v >= t if op.attrs["cmp"] == "ge" else v > t
        return pack_rows(holds if op.attrs["invert"] else ~holds, graph.tensors[op.outputs[0]])

    def applies(self, graph, op, kernel):
        if kernel.name == "pattern":
            return _pattern_bound(graph, op) is not None
        return kernel.name == PORTABLE or _folded(graph, op) is not None

    def c_call(self, em, op):
        a, out_t = op.attrs, em.graph.tensors[op.outputs[0]]
        src, dst, rc = em.src(op), em.dst(op), f"{out_t.rows}, {out_t.channels}"
        if a["c_kernel"] == "pattern":
            _, _, invert = _folded(em.graph, op)
            return f"ebnn_binarize_bits_f32({src}, {dst}, {rc}, {_pattern_bound(em.graph, op):#010x}u, {int(invert)})"
        if a["c_kernel"] == "folded":
            t, strict, invert = _folded(em.graph, op)
            tname, mod = em.per_element(em.p + "_t", "float", t.astype(np.float32), out_t.channels)
            return f"ebnn_binarize_cmp_f32({src}, {dst}, {rc}, {tname}, {mod}, {int(strict)}, {int(invert)})"
        table, count = em.steps(em.p, a["chain"], out_t.channels)
        t, mod = em.per_element(em.p + "_t", "float", a["t"].astype(np.float32), out_t.channels)
        strict = int(a["cmp"] == "gt")
        return f"ebnn_binarize_f32({src}, {dst}, {rc}, {table}, {count}, {t}, {mod}, {strict}, {int(a['invert'])})"

    def sources(self, graph, op):
        return (self.source,) + (("ebnn_opt.h", "ebnn_opt_act.c") if op.attrs["c_kernel"] != PORTABLE else ())
