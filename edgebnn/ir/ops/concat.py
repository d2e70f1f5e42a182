"""``concat``: f32 tensors -> f32, joined along one axis: ``outer`` rows, each the
concatenation of one block per part: ``(input, size)`` copies ``size`` values of that input,
``(-1, size)`` writes ``fill`` (a constant ``Pad`` of that axis).  A channel ``Concat`` of NHWC
tensors is ``outer = H * W`` rows of channel blocks."""
from __future__ import annotations

import numpy as np

from .base import OpKind


class Concat(OpKind):
    kind = "concat"
    source = "ebnn_activation.c"

    def infer(self, graph, inputs, attrs):
        return "f32", tuple(attrs["shape"]), 0

    def reference(self, graph, op, *xs):
        outer, fill = op.attrs["outer"], np.float32(op.attrs["fill"])
        blocks = [xs[i].reshape(len(xs[0]), outer, size) if i >= 0 else np.full((len(xs[0]), outer, size), fill)
                  for i, size in op.attrs["parts"]]
        return np.concatenate(blocks, axis=2).reshape(len(xs[0]), -1).astype(np.float32)

    def c_call(self, em, op):
        srcs = ", ".join(em.src(op, i) if i >= 0 else "0" for i, _ in op.attrs["parts"])
        sizes = ", ".join(str(size) for _, size in op.attrs["parts"])
        n = len(op.attrs["parts"])
        return (f"ebnn_concat_f32((const float *const[{n}]){{{srcs}}}, (const int32_t[{n}]){{{sizes}}}, {n}, "
                f"{em.dst(op)}, {op.attrs['outer']}, {em.float(op.attrs['fill'])})")

    def cost_features(self, graph, op):
        size = graph.tensors[op.outputs[0]].size
        return [1, op.attrs["outer"], size, 0]
