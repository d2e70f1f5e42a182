"""``unpack``: bits -> f32, ``hi`` where the bit is 0 (+1) and ``lo`` where it is 1 (-1)."""
from __future__ import annotations

import numpy as np

from ..bits import unpack_rows
from .base import OpKind, same_shape


class Unpack(OpKind):
    kind = "unpack"
    source = "ebnn_activation.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, x):
        neg = unpack_rows(x, graph.tensors[op.inputs[0]])
        return np.where(neg, np.float32(op.attrs["lo"]), np.float32(op.attrs["hi"])).astype(np.float32)

    def c_call(self, em, op):
        out_t = em.graph.tensors[op.outputs[0]]
        hi, lo = em.float(op.attrs["hi"]), em.float(op.attrs["lo"])
        return f"ebnn_unpack({em.src(op)}, {em.dst(op)}, {hi}, {lo}, {out_t.rows}, {out_t.channels})"
