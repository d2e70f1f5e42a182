"""``dense``: f32 (K) -> f32 (N) with float32 weights ``weight`` (N, K), summed in input order
as the C loop does (real-valued first and last layers)."""
from __future__ import annotations

import numpy as np

from .base import OpKind


def accumulate(terms, acc=None):
    """Sum float32 terms in order, as the C loops do."""
    for term in terms:
        acc = term.astype(np.float32) if acc is None else (acc + term).astype(np.float32)
    return acc


class Dense(OpKind):
    kind = "dense"
    source = "ebnn_dense.c"
    ctype, function, weight_bits = "float", "ebnn_dense_f32", 32

    def infer(self, graph, inputs, attrs):
        return "f32", (graph.consts[attrs["weight"]].shape[0],), 0

    def reference(self, graph, op, x):
        w = graph.consts[op.attrs["weight"]]  # (N, n) float32
        zero = np.zeros((x.shape[0], w.shape[0]), np.float32)
        return accumulate((x[:, i, None] * w[None, :, i] for i in range(w.shape[1])), zero)

    def fan_in(self, graph, op) -> int:
        return op.attrs.get("k", graph.tensors[op.inputs[0]].size)

    def c_call(self, em, op):
        w = em.const(em.p + "_w", self.ctype, em.graph.consts[op.attrs["weight"]])
        n_in, n = em.graph.tensors[op.inputs[0]].size, em.graph.tensors[op.outputs[0]].size
        return f"{self.function}({em.src(op)}, {w}, {em.dst(op)}, {n_in}, {n})"

    def report(self, graph, op):
        macs = graph.tensors[op.outputs[0]].size * self.fan_in(graph, op)
        return {"binary_macs": 0, "real_macs": macs, "weights": macs, "weight_bits": macs * self.weight_bits,
                "format": op.attrs.get("format", "float32"), "stored_bytes": graph.consts[op.attrs["weight"]].nbytes}

    def cost_features(self, graph, op):
        n = graph.tensors[op.outputs[0]].size
        return [1, n, n * self.fan_in(graph, op)]
