"""Bit-pack binary weights: ±1 int8 (N, K) -> uint32 (N, ceil(K / 32))."""
from __future__ import annotations

import numpy as np

from .. import bits
from ..ir import Graph


def run(graph: Graph) -> Graph:
    for op in graph.ops:
        if op.kind in ("bdense", "dense_binw"):
            name = op.attrs["weight"]
            w = graph.consts[name]
            if w.dtype == np.int8:
                graph.consts[name] = bits.pack_signs(w)
    return graph
