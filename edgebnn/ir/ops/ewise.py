"""``ewise``: f32 (a) op f32 (b) -> f32, element by element: a residual ``Add``, a ``Sub``,
``Mul`` (a gate), ``Div``, ``Max``/``Min`` of two computed tensors.  ``b`` is as large as ``a``
or one value per channel (``b[i % len(b)]``), each result rounded to float32 as onnxruntime does."""
from __future__ import annotations

import numpy as np

from .base import OpKind, same_shape

# op -> the C enum (runtime_c/ebnn_kernels.h) and numpy
CODES = {"add": "EBNN_ADD", "sub": "EBNN_SUB", "mul": "EBNN_MUL", "div": "EBNN_DIV", "rsub": "EBNN_RSUB",
         "rdiv": "EBNN_RDIV", "max": "EBNN_MAX", "min": "EBNN_MIN"}
NUMPY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
         "rsub": lambda a, b: b - a, "rdiv": lambda a, b: b / a,
         "max": lambda a, b: np.where(a < b, b, a), "min": lambda a, b: np.where(a > b, b, a)}


class Ewise(OpKind):
    kind = "ewise"
    in_place = True  # ebnn_ewise_f32 (runtime_c/ebnn_chain.c) reads a[i] and b[i] just before writing y[i]
    source = "ebnn_chain.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, a, b):
        reps = a.shape[1] // b.shape[1]
        with np.errstate(all="ignore"):
            return NUMPY[op.attrs["op"]](a, np.tile(b, (1, reps))).astype(np.float32)

    def c_call(self, em, op):
        n, m = (em.graph.tensors[t].size for t in op.inputs)
        return f"ebnn_ewise_f32({em.src(op)}, {em.src(op, 1)}, {em.dst(op)}, {n}, {m}, {CODES[op.attrs['op']]})"

    def report(self, graph, op):
        row = super().report(graph, op)
        row["real_macs"] = graph.tensors[op.outputs[0]].size if op.attrs["op"] == "mul" else 0
        return row
