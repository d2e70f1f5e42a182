"""Rewrites of the IR, each ``run(graph) -> graph``, in the order of ``lower`` below."""
from __future__ import annotations

import copy

from ..ir import Graph
from . import encoding, packing, ranges, thresholds


def lower(graph: Graph, weights: str = "size") -> Graph:
    """A copy of the graph with every pass applied (the input is left as it was);
    ``weights``: "size" or "speed", how sparse layers' weights are stored (encoding.py)."""
    out = copy.deepcopy(graph)
    out = packing.run(thresholds.run(out))
    out = encoding.run(out, weights)
    # ranges last: it proves the integers of the final graph fit the C's types (it changes nothing)
    return ranges.run(out)
