"""Bit-pack binary weights into the physical layout of the activations they meet.

- bdense / dense_binw: ±1 int8 (N, K), column j at input slot ``slots[j]`` of a row
  of ``total`` slots (unused slots: bit 0 = +1, matching the activation's padding)
  -> uint32 (N, total / 32).
- bconv: ±1 int8 (M, C, kh, kw) -> uint32 (M, kh, kw, words(C)), like the NHWC input.
A sparse layer's connection ``mask`` (0/1 int8, same shape) is packed the same way.
Each op kind with binary weights says how (``pack`` in ir/ops/).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph
from ..ir.ops import OPS


def run(graph: Graph) -> Graph:
    for op in graph.ops:
        if not OPS[op.kind].binary_weights:
            continue
        for key, flag in (("weight", lambda w: w < 0), ("mask", lambda m: m != 0)):
            name = op.attrs.get(key)
            if name is not None and graph.consts[name].dtype == np.int8:
                graph.consts[name] = OPS[op.kind].pack(op, flag(graph.consts[name]))
    return graph
