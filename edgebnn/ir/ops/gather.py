"""``gather``: f32 -> f32, ``out[i] = in[index[i]]``: a layout change (NCHW to NHWC, or a
view's element order) made real.  The output is ``shape`` (default: one axis)."""
from __future__ import annotations

from .base import OpKind


class Gather(OpKind):
    kind = "gather"
    source = "ebnn_activation.c"

    def infer(self, graph, inputs, attrs):
        return "f32", tuple(attrs.get("shape", (len(attrs["index"]),))), 0

    def reference(self, graph, op, x):
        return x[:, op.attrs["index"]]

    def c_call(self, em, op):
        index = em.const(em.p + "_idx", "int32_t", op.attrs["index"])
        return f"ebnn_gather_f32({em.src(op)}, {em.dst(op)}, {index}, {em.graph.tensors[op.outputs[0]].size})"
