"""The numpy executor of the lowered IR: the semantics every back end is checked against.

Each op's kernel is its own (``reference`` in ir/ops/): it works on the same physical
layouts, packed words, integer thresholds and float32 step order as the C kernels, batched
over the first axis.  Tensors are (batch, n) arrays: elements for f32/i32, uint32 words for
bits.  An op's epilogues run on its result, as its fused kernel does.
"""
from __future__ import annotations

import numpy as np

from .graph import Graph
from .ops import OPS


class Reference:
    def __init__(self, graph: Graph):
        self.graph = graph

    def run(self, x: np.ndarray) -> np.ndarray:
        g = self.graph
        x = np.asarray(x, np.float32)
        if tuple(x.shape[1:]) != tuple(g.input_shape[1:]):
            raise ValueError(f"input of shape {x.shape}: expected (N, {', '.join(map(str, g.input_shape[1:]))})")
        env = {g.input: x.reshape(x.shape[0], -1)}
        for op in g.ops:
            y = OPS[op.kind].reference(g, op, *(env[t] for t in op.inputs))
            for epilogue in op.epilogues:
                y = OPS[epilogue.kind].reference(g, epilogue, y)
            env[op.outputs[0]] = y
        return env[g.output].reshape((x.shape[0],) + tuple(g.output_shape[1:]))
