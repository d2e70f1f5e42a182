"""``relu``: f32 -> f32, ``max(x, 0)`` as ONNX computes it (onnxruntime's CPU kernel): a
negative value becomes +0; -0, NaN and +inf pass unchanged."""
from __future__ import annotations

import numpy as np

from .base import OpKind, same_shape


class Relu(OpKind):
    kind = "relu"
    in_place = True  # ebnn_relu_f32 (runtime_c/ebnn_real.c) reads x[i] just before writing y[i]
    source = "ebnn_real.c"

    def infer(self, graph, inputs, attrs):
        return same_shape(graph, inputs, "f32")

    def reference(self, graph, op, x):
        return np.where(x < 0, np.float32(0), x).astype(np.float32)

    def c_call(self, em, op):
        return f"ebnn_relu_f32({em.src(op)}, {em.dst(op)}, {em.graph.tensors[op.outputs[0]].size})"
