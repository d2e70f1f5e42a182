"""``scale_rows``: f32 (rows, C) times a per-row f32 scale (rows,): XNOR-Net's per-pixel
activation scale K times an activation."""
from __future__ import annotations

from .base import OpKind, same_shape


class ScaleRows(OpKind):
    kind = "scale_rows"
    in_place = True  # ebnn_scale_rows (runtime_c/ebnn_chain.c) reads x[i] just before writing y[i]
    source = "ebnn_chain.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, x, m):
        t = graph.tensors[op.inputs[0]]
        return (x.reshape(len(x), t.rows, t.channels) * m[:, :, None]).reshape(len(x), -1)

    def c_call(self, em, op):
        out_t = em.graph.tensors[op.outputs[0]]
        return f"ebnn_scale_rows({em.src(op)}, {em.src(op, 1)}, {em.dst(op)}, {out_t.rows}, {out_t.channels})"
