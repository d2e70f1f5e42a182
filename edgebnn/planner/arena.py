"""Arena planning: tensor lifetimes from the op order, offsets in one arena.

The graph input and output live in caller-owned buffers; every other tensor gets
an offset.  Two tensors may share bytes when their lifetimes do not overlap (an
op's inputs and output are live together: no in-place kernels yet).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph

ALIGN = 8


def aligned(n: int, align: int = ALIGN) -> int:
    return (n + align - 1) // align * align


@dataclass
class Plan:
    offsets: dict  # tensor -> byte offset in the arena
    sizes: dict  # tensor -> bytes (aligned)
    lifetimes: dict  # tensor -> (first op, last op)
    arena_bytes: int
    lower_bound_bytes: int
    no_reuse_bytes: int

    def live_bytes(self, step: int) -> int:
        return sum(self.sizes[t] for t, (a, b) in self.lifetimes.items() if a <= step <= b)


def lifetimes(graph: Graph) -> dict:
    spans = {}
    for i, op in enumerate(graph.ops):
        for t in op.outputs:
            if t != graph.output:
                spans[t] = [i, i]
        for t in op.inputs:
            if t in spans:
                spans[t][1] = i
    return {t: tuple(s) for t, s in spans.items()}


def overlaps(a, b) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def greedy_by_size(sizes: dict, spans: dict) -> dict:
    """Largest first, each at the lowest offset clear of the tensors it is live with."""
    offsets: dict = {}
    for t in sorted(sizes, key=lambda t: (-sizes[t], spans[t], t)):
        busy = sorted((offsets[u], offsets[u] + sizes[u]) for u in offsets if overlaps(spans[t], spans[u]))
        at = 0
        for lo, hi in busy:
            if at + sizes[t] <= lo:
                break
            at = max(at, hi)
        offsets[t] = at
    return offsets


def plan(graph: Graph) -> Plan:
    spans = lifetimes(graph)
    sizes = {t: aligned(graph.tensors[t].nbytes) for t in spans}
    offsets = greedy_by_size(sizes, spans)
    arena = max((offsets[t] + sizes[t] for t in offsets), default=0)
    p = Plan(offsets, sizes, spans, arena, 0, sum(sizes.values()))
    p.lower_bound_bytes = max((p.live_bytes(i) for i in range(len(graph.ops))), default=0)
    return p
