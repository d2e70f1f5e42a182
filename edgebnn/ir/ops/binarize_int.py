"""``binarize_int``: u8/i8 codes -> bits.  ``bit = (u < q) ^ inv`` per element, ``u`` the code
minus the type's least (0 for uint8, -128 for int8), ``q`` in 0..256: the exact decision of
the float graph on every code (passes/int_input.py).  Kernel: runtime_c/ebnn_input.c, with
SIMD byte compares (USUB8 + SEL) on DSP cores when every element shares one threshold."""
from __future__ import annotations

import numpy as np

from ..bits import pack_rows
from .base import OpKind, same_shape


def unsigned(graph, op, x):
    """Codes as 0..255 (a float batch of codes, or ints)."""
    return np.asarray(x).astype(np.int64) + (128 if op.attrs["signed"] else 0)


class BinarizeInt(OpKind):
    kind = "binarize_int"
    source = "ebnn_input.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "bits")

    def reference(self, graph, op, x):
        bit = (unsigned(graph, op, x) < op.attrs["q"]) ^ op.attrs["inv"]
        return pack_rows(bit, graph.tensors[op.outputs[0]])

    def c_call(self, em, op):
        a, out_t = op.attrs, em.graph.tensors[op.outputs[0]]
        code = np.asarray(a["q"], np.int64) * 2 + np.asarray(a["inv"], np.int64)
        mod = em.period(code, out_t.channels)
        q = em.const(em.p + "_q", "uint16_t", np.asarray(a["q"][:mod], np.uint16))
        inv = em.const(em.p + "_inv", "uint8_t", np.asarray(a["inv"][:mod], np.uint8))
        flip = "0x80u" if a["signed"] else "0u"
        return (f"ebnn_binarize_int({em.src(op)}, {em.dst(op)}, {out_t.rows}, {out_t.channels}, {q}, {inv}, {mod}, "
                f"{flip})")

    def sources(self, graph, op):
        return ("ebnn_input.h", self.source)
