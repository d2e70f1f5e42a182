"""Bit-pack binary weights into the physical layout of the activations they meet.

- bdense / dense_binw: ±1 int8 (N, K), column j at input slot ``slots[j]`` of a row
  of ``total`` slots (unused slots: bit 0 = +1, matching the activation's padding)
  -> uint32 (N, total / 32).
- bconv: ±1 int8 (M, C, kh, kw) -> uint32 (M, kh, kw, words(C)), like the NHWC input.
"""
from __future__ import annotations

import numpy as np

from .. import bits
from ..ir import Graph


def run(graph: Graph) -> Graph:
    for op in graph.ops:
        name = op.attrs.get("weight")
        if name is None or graph.consts[name].dtype != np.int8:
            continue
        w = graph.consts[name]
        if op.kind in ("bdense", "dense_binw"):
            neg = np.zeros((w.shape[0], op.attrs["total"]), bool)
            neg[:, op.attrs["slots"]] = w < 0
            graph.consts[name] = bits.pack(neg)
        elif op.kind == "bconv":
            graph.consts[name] = bits.pack(w.transpose(0, 2, 3, 1) < 0)
    return graph
