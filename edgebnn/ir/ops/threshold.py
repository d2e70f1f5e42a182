"""``threshold``: i32 accumulators -> bits.  Built like ``binarize`` (a float chain and a
comparison); ``passes.thresholds`` turns that into integers: ``bit = (d < thr) ^ neg``.

A threshold whose accumulator has no other reader becomes its producer's epilogue
(``passes.fusion``): the producer's kernel then writes the bits, and ``epilogue_args`` are
the arguments it takes for them."""
from __future__ import annotations

import numpy as np

from ..bits import pack, pack_rows
from .base import OpKind, same_shape


def per_channel(thr: np.ndarray, neg: np.ndarray, channels: int):
    """(thr (C,), neg (C,)) when every pixel shares its channel's threshold, else None."""
    t, n = np.asarray(thr).reshape(-1, channels), np.asarray(neg).reshape(-1, channels)
    if not (np.all(t == t[:1]) and np.all(n == n[:1])):
        return None
    return t[0], n[0]


class Threshold(OpKind):
    kind = "threshold"
    source = "ebnn_activation.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "bits")

    def reference(self, graph, op, d):
        return pack_rows((d < op.attrs["thr"]) ^ op.attrs["neg"], graph.tensors[op.outputs[0]])

    def constants(self, em, op) -> tuple[str, str, int]:
        """(thresholds, sign flags, period): per channel when every pixel shares them."""
        a, channels = op.attrs, em.graph.tensors[op.outputs[0]].channels
        mod = em.period(a["thr"].astype(np.int64) * 2 + a["neg"], channels)
        thr = em.const(em.p + "_thr", "int32_t", a["thr"][:mod])
        neg = em.const(em.p + "_neg", "uint32_t", pack(a["neg"][:mod]))
        return thr, neg, mod

    def epilogue_args(self, em, op):
        thr, neg, mod = self.constants(em, op)
        return thr, neg, str(mod)

    def c_call(self, em, op):
        out_t = em.graph.tensors[op.outputs[0]]
        thr, neg, mod = self.constants(em, op)
        return f"ebnn_threshold({em.src(op)}, {thr}, {neg}, {mod}, {em.dst(op)}, {out_t.rows}, {out_t.channels})"
