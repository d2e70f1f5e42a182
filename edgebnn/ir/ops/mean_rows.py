"""``mean_rows``: f32 (rows, C) -> f32 (rows, 1), the mean over the channels of each pixel
(XNOR-Net's ``ReduceMean(|A|, axis=1)``), summed in channel order in float32."""
from __future__ import annotations

import numpy as np

from .base import OpKind
from .dense import accumulate


class MeanRows(OpKind):
    kind = "mean_rows"
    source = "ebnn_chain.c"

    def infer(self, graph, inputs, attrs):
        return "f32", graph.tensors[inputs[0]].shape[:-1] + (1,), 0

    def reference(self, graph, op, x):
        t = graph.tensors[op.inputs[0]]
        rows = x.reshape(len(x), t.rows, t.channels)
        total = accumulate((rows[:, :, c] for c in range(t.channels)), np.zeros((len(x), t.rows), np.float32))
        return (total / np.float32(t.channels)).astype(np.float32)

    def c_call(self, em, op):
        src_t = em.graph.tensors[op.inputs[0]]
        return f"ebnn_mean_rows({em.src(op)}, {em.dst(op)}, {src_t.rows}, {src_t.channels})"
