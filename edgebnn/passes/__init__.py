"""Rewrites of the IR, each ``run(graph) -> graph``; the pipeline is the list below."""
from __future__ import annotations

import copy

from ..ir import Graph
from . import encoding, packing, ranges, thresholds

# ranges last: it proves the integers of the final graph fit the C's types (it changes nothing).
PIPELINE = (thresholds, packing, encoding, ranges)


def lower(graph: Graph) -> Graph:
    """A copy of the graph with every pass applied (the input is left as it was)."""
    out = copy.deepcopy(graph)
    for p in PIPELINE:
        out = p.run(out)
    return out
