"""``scale_int``: u8/i8 codes -> f32 through a table: per element the float32 results of the
graph's affine chain on all 256 codes (passes/int_input.py), ``table[u][i % period]`` with
``u`` the code minus the type's least.  Kernel: runtime_c/ebnn_input.c."""
from __future__ import annotations

import numpy as np

from .base import OpKind, same_shape
from .binarize_int import unsigned


def period(table: np.ndarray, channels: int) -> int:
    """Columns of the (256, n) table the C keeps: 1 when all agree, the channels when they repeat."""
    bits = np.ascontiguousarray(table, np.float32).view(np.uint32)
    n = bits.shape[1]
    for p in (1, channels):
        if p and n % p == 0 and np.array_equal(bits, np.tile(bits[:, :p], (1, n // p))):
            return p
    return n


class ScaleInt(OpKind):
    kind = "scale_int"
    source = "ebnn_input.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, x):
        u = unsigned(graph, op, x)
        return np.asarray(op.attrs["table"], np.float32)[u, np.arange(u.shape[1])]

    def c_call(self, em, op):
        a, out_t = op.attrs, em.graph.tensors[op.outputs[0]]
        p = period(a["table"], out_t.channels)
        table = em.const(em.p + "_table", "float", np.ascontiguousarray(a["table"][:, :p], np.float32))
        flip = "0x80u" if a["signed"] else "0u"
        return f"ebnn_scale_int({em.src(op)}, {em.dst(op)}, {out_t.size}, {table}, {p}, {flip})"

    def sources(self, graph, op):
        return ("ebnn_input.h", self.source)
