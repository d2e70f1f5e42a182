"""``softmax``: f32 rows -> f32 rows, ``Softmax`` (or ``LogSoftmax`` with ``log``) over each row
of ``n`` values: max, exp(x - max), sum in order, divide; in double, each output rounded
once to float32 (onnxruntime's own exp differs in the last bits: outputs agree within 1e-6)."""
from __future__ import annotations

import numpy as np

from .base import OpKind, same_shape


class Softmax(OpKind):
    kind = "softmax"
    in_place = True  # ebnn_softmax_f32 (runtime_c/ebnn_chain.c) reads a row whole before writing it
    source = "ebnn_chain.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, x):
        n = op.attrs["n"]
        rows = x.reshape(-1, n).astype(np.float64)
        shifted = rows - rows.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = np.zeros((len(rows), 1))
        for j in range(n):  # summed in order, as the C does
            total[:, 0] += e[:, j]
        out = shifted - np.log(total) if op.attrs["log"] else e / total
        return out.astype(np.float32).reshape(x.shape)

    def c_call(self, em, op):
        size = em.graph.tensors[op.outputs[0]].size
        n = op.attrs["n"]
        return f"ebnn_softmax_f32({em.src(op)}, {em.dst(op)}, {size // n}, {n}, {int(op.attrs['log'])})"

    def cost_features(self, graph, op):
        size = graph.tensors[op.outputs[0]].size
        return [1, size // op.attrs["n"], size, 4 * size]
