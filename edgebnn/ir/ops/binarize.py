"""``binarize``: f32 -> bits.  The float step program ``chain`` (ir/chain.py), then +1 (bit 0)
where ``chain(x) >= t`` (``cmp`` "ge") or ``> t`` ("gt"), swapped when ``invert``.

Optimised kernel: when the chain is provably monotone, chain and threshold fold into one
float32 threshold per element, exact for every float32 input (ir/float_threshold.py)."""
from __future__ import annotations

import numpy as np

from .. import chain as chains
from ..bits import pack_rows
from ..float_threshold import fold_binarize
from .base import PORTABLE, Kernel, OpKind, same_shape


def _folded(graph, op):
    a, n = op.attrs, graph.tensors[op.outputs[0]].size
    return fold_binarize(a["chain"], a["t"], a["cmp"], bool(a["invert"]), (n,))


class Binarize(OpKind):
    kind = "binarize"
    kernels = (Kernel("folded", optimized=True), Kernel(PORTABLE))
    source = "ebnn_chain.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "bits")

    def reference(self, graph, op, x):
        v = chains.apply(chains.flat(op.attrs["chain"]), x)
        t = op.attrs["t"].reshape(-1)
        holds = v >= t if op.attrs["cmp"] == "ge" else v > t
        return pack_rows(holds if op.attrs["invert"] else ~holds, graph.tensors[op.outputs[0]])

    def applies(self, graph, op, kernel):
        return kernel.name == PORTABLE or _folded(graph, op) is not None

    def c_call(self, em, op):
        a, out_t = op.attrs, em.graph.tensors[op.outputs[0]]
        src, dst, rc = em.src(op), em.dst(op), f"{out_t.rows}, {out_t.channels}"
        if a["c_kernel"] == "folded":
            t, strict, invert = _folded(em.graph, op)
            tname, mod = em.per_element(em.p + "_t", "float", t.astype(np.float32), out_t.channels)
            return f"ebnn_binarize_cmp_f32({src}, {dst}, {rc}, {tname}, {mod}, {int(strict)}, {int(invert)})"
        table, count = em.steps(em.p, a["chain"], out_t.channels)
        t, mod = em.per_element(em.p + "_t", "float", a["t"].astype(np.float32), out_t.channels)
        strict = int(a["cmp"] == "gt")
        return f"ebnn_binarize_f32({src}, {dst}, {rc}, {table}, {count}, {t}, {mod}, {strict}, {int(a['invert'])})"

    def sources(self, graph, op):
        return (self.source,) + (("ebnn_opt.h", "ebnn_opt_act.c") if op.attrs["c_kernel"] == "folded" else ())
