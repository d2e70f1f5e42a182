"""``affine``: f32 or i32 -> f32 through a float32 step program (``chain``, see ir/chain.py):
BatchNorm, scales and offsets, each step rounded to float32 in graph order."""
from __future__ import annotations

import numpy as np

from .. import chain as chains
from .base import OpKind, same_shape


class Affine(OpKind):
    kind = "affine"
    in_place = True  # ebnn_affine_f32 / _i32 (runtime_c/ebnn_chain.c) read x[i] just before writing y[i]
    source = "ebnn_chain.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, x):
        return chains.apply(chains.flat(op.attrs["chain"]), x.astype(np.float32))

    def c_call(self, em, op):
        src_t, out_t = em.graph.tensors[op.inputs[0]], em.graph.tensors[op.outputs[0]]
        table, count = em.steps(em.p, op.attrs["chain"], out_t.channels)
        suffix = "i32" if src_t.dtype == "i32" else "f32"
        return f"ebnn_affine_{suffix}({em.src(op)}, {em.dst(op)}, {out_t.size}, {table}, {count})"
