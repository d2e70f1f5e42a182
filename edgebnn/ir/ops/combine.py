"""``combine``: two-level (SBNN) weights {beta, alpha} per output channel.  Inputs: the
accumulator ``d`` of the "alpha" connections (a bdense/bconv over the rare-state mask) and
the row sums of the input ``sum(a)`` (a one-channel layer); output
``gamma * d + beta * sum(a)`` in float32 (the graph's own sum)."""
from __future__ import annotations

import numpy as np

from .base import OpKind, same_shape


class Combine(OpKind):
    kind = "combine"
    source = "ebnn_sparse.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, d, total):
        t = graph.tensors[op.outputs[0]]
        dd = d.reshape(len(d), t.rows, t.channels).astype(np.float32) * op.attrs["gamma"]
        ss = total.reshape(len(total), t.rows, 1).astype(np.float32) * op.attrs["beta"]
        return (dd.astype(np.float32) + ss.astype(np.float32)).astype(np.float32).reshape(len(d), -1)

    def c_call(self, em, op):
        out_t = em.graph.tensors[op.outputs[0]]
        gamma = em.const(em.p + "_gamma", "float", op.attrs["gamma"])
        beta = em.const(em.p + "_beta", "float", op.attrs["beta"])
        return (f"ebnn_combine({em.src(op)}, {em.src(op, 1)}, {gamma}, {beta}, {em.dst(op)}, "
                f"{out_t.rows}, {out_t.channels})")
