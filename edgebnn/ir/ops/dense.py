"""``dense``: f32 (K) -> f32 (N) with float32 weights ``weight`` (N, K), summed in input order
as the C loop does (real-valued first and last layers).  Kernels: ``bits`` when its output
only feeds a binarizer (real_bits.py: the fused op writes the bits), else portable."""
from __future__ import annotations

import numpy as np

from . import real_bits
from .base import PORTABLE, Kernel, OpKind


def accumulate(terms, acc=None):
    """Sum float32 terms in order, as the C loops do."""
    for term in terms:
        acc = term.astype(np.float32) if acc is None else (acc + term).astype(np.float32)
    return acc


class Dense(OpKind):
    kind = "dense"
    source = "ebnn_dense.c"
    ctype, function, weight_bits = "float", "ebnn_dense_f32", 32
    kernels = (real_bits.BITS, Kernel(PORTABLE))

    def infer(self, graph, inputs, attrs):
        return "f32", (graph.consts[attrs["weight"]].shape[0],), 0

    def absorbs(self, graph, op, epilogue, optimized):
        return super().absorbs(graph, op, epilogue, optimized) and real_bits.absorbs(graph, op, epilogue, pool=False)

    def reference(self, graph, op, x):
        w = graph.consts[op.attrs["weight"]]  # (N, n) float32
        zero = np.zeros((x.shape[0], w.shape[0]), np.float32)
        return accumulate((x[:, i, None] * w[None, :, i] for i in range(w.shape[1])), zero)

    def fan_in(self, graph, op) -> int:
        return op.attrs.get("k", graph.tensors[op.inputs[0]].size)

    def c_call(self, em, op):
        n_in, n = em.graph.tensors[op.inputs[0]].size, em.graph.tensors[op.result].size
        if op.attrs["c_kernel"] == real_bits.BITS.name:
            w = em.const(em.p + "_w", "float", real_bits.signed_weights(em.graph, op, em.graph.consts[op.attrs["weight"]]))
            return (f"ebnn_dense_f32_bin({em.src(op)}, {w}, {em.dst(op)}, {n_in}, {n}, "
                    f"{real_bits.binarizer_args(em, op, pooled=False)})")
        w = em.const(em.p + "_w", self.ctype, em.graph.consts[op.attrs["weight"]])
        return f"{self.function}({em.src(op)}, {w}, {em.dst(op)}, {n_in}, {n})"

    def sources(self, graph, op):
        return real_bits.SOURCES if op.attrs["c_kernel"] == real_bits.BITS.name else (self.source,)

    def report(self, graph, op):
        macs = graph.tensors[op.result].size * self.fan_in(graph, op)
        return {"binary_macs": 0, "real_macs": macs, "weights": macs, "weight_bits": macs * self.weight_bits,
                "format": op.attrs.get("format", "float32"), "stored_bytes": graph.consts[op.attrs["weight"]].nbytes}

    def cost_features(self, graph, op):
        n = graph.tensors[op.result].size
        return [1, n, n * self.fan_in(graph, op)]
