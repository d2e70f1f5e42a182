"""``argmax``: f32 rows of ``n`` values -> one int32 index per row, the first largest (ONNX
``ArgMax``, and ``TopK`` with k = 1: a class label as the model's output)."""
from __future__ import annotations

import numpy as np

from .base import OpKind


class ArgMax(OpKind):
    kind = "argmax"
    source = "ebnn_activation.c"

    def infer(self, graph, inputs, attrs):
        return "i32", (graph.tensors[inputs[0]].size // attrs["n"],), 0

    def reference(self, graph, op, x):
        n = op.attrs["n"]
        return x.reshape(len(x), -1, n).argmax(axis=2).astype(np.int32)

    def c_call(self, em, op):
        size = em.graph.tensors[op.inputs[0]].size
        return f"ebnn_argmax_f32({em.src(op)}, {em.dst(op)}, {size // op.attrs['n']}, {op.attrs['n']})"
