"""``affine``: f32 or i32 -> f32 through a float32 step program (``chain``, see ir/chain.py):
BatchNorm, scales and offsets, each step rounded to float32 in graph order.

Optimised kernel: on int32 accumulators (|d| <= fan-in k) with the same constants for every
element, the chain is tabulated at compile time (2 k + 1 float32 results, the same steps; k + 1
when every accumulator has the parity of k)."""
from __future__ import annotations

import numpy as np

from .. import chain as chains
from .base import PORTABLE, Kernel, OpKind, same_shape

LUT_MAX_FANIN = 128  # a table of at most 257 floats (1 KiB of flash): small layers, where the steps dominate
_EXACT = ("mul", "add", "sub", "div", "rsub", "rdiv", "abs", "max", "min", "prelu")  # float32 basic operations


def _halved(graph, op) -> bool:
    """Whether every accumulator has the parity of its fan-in k (a dense binary layer without a
    connection mask: d = k - 2 m), so that the table keeps the k + 1 values (d + k) / 2."""
    producer = graph.producer(op.inputs[0])
    return producer is not None and producer.kind == "bdense" and producer.attrs.get("format") == "bits" \
        and "mask" not in producer.attrs and int(producer.attrs["k"]) == graph.tensors[op.inputs[0]].fanin


def _lut_chain(graph, op):
    """The chain with one scalar per step, or None when the op cannot be tabulated."""
    x = graph.tensors[op.inputs[0]]
    if x.dtype != "i32" or not 0 < x.fanin <= LUT_MAX_FANIN:
        return None
    steps = []
    for name, c in op.attrs["chain"]:
        flat = np.asarray(c, np.float32).reshape(-1)
        if name not in _EXACT or flat.size == 0 or not np.array_equal(flat, np.full_like(flat, flat[0]), equal_nan=True):
            return None
        steps.append((name, flat[:1]))
    return tuple(steps)


class Affine(OpKind):
    kind = "affine"
    in_place = True  # ebnn_affine_f32 / _i32 (runtime_c/ebnn_chain.c) read x[i] just before writing y[i]
    source = "ebnn_chain.c"
    kernels = (Kernel("lut", optimized=True), Kernel(PORTABLE))

    def applies(self, graph, op, kernel):
        return kernel.name == PORTABLE or _lut_chain(graph, op) is not None

    def sources(self, graph, op):
        return (self.source,) + (("ebnn_opt.h", "ebnn_opt_act.c") if op.attrs["c_kernel"] == "lut" else ())

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, x):
        return chains.apply(chains.flat(op.attrs["chain"]), x.astype(np.float32))

    def c_call(self, em, op):
        if op.attrs["c_kernel"] == "lut":
            k, half = em.graph.tensors[op.inputs[0]].fanin, int(_halved(em.graph, op))
            table = chains.table(_lut_chain(em.graph, op), k, 1).reshape(-1)[::1 + half]
            lut = em.const(em.p + "_lut", "float", table.astype(np.float32))
            n = em.graph.tensors[op.outputs[0]].size
            return f"ebnn_affine_lut_i32({em.src(op)}, {em.dst(op)}, {n}, {lut}, {k}, {half})"
        src_t, out_t = em.graph.tensors[op.inputs[0]], em.graph.tensors[op.outputs[0]]
        table, count = em.steps(em.p, op.attrs["chain"], out_t.channels)
        suffix = "i32" if src_t.dtype == "i32" else "f32"
        return f"ebnn_affine_{suffix}({em.src(op)}, {em.dst(op)}, {out_t.size}, {table}, {count})"
