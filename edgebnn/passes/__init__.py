"""Rewrites of the IR, each ``run(graph) -> graph``; the pipeline is the list below
(the last, encoding, also takes the weight-format policy)."""
from __future__ import annotations

import copy

from ..ir import Graph
from . import encoding, packing, thresholds

PIPELINE = (thresholds, packing)


def lower(graph: Graph, weights: str = "size") -> Graph:
    """A copy of the graph with every pass applied (the input is left as it was);
    ``weights``: "size" or "speed", how sparse layers' weights are stored (encoding.py)."""
    out = copy.deepcopy(graph)
    for p in PIPELINE:
        out = p.run(out)
    return encoding.run(out, weights)
