"""Arena planning: every intermediate tensor gets an offset in one static arena.

Several strategies place the buffers (strategies.py); the smallest arena wins.  The
plan records how it compares with the lower bound (the most bytes live at once) and
with no reuse at all, and, where it is above the bound, why (explain.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..ir import Graph
from . import strategies
from .explain import above_lower_bound
from .lifetimes import ALIGN, Buffer, aligned, buffers, live_bytes, lower_bound

__all__ = ["ALIGN", "Plan", "aligned", "plan", "plan_buffers", "plan_from_buffers"]


@dataclass
class Plan:
    offsets: dict  # tensor -> byte offset in the arena
    sizes: dict  # tensor -> bytes (aligned)
    lifetimes: dict  # tensor -> (first op, last op)
    arena_bytes: int
    lower_bound_bytes: int
    no_reuse_bytes: int
    buffers: list = field(default_factory=list)  # Buffer, in op order
    buffer_offsets: list = field(default_factory=list)
    strategy: str = ""
    strategy_bytes: dict = field(default_factory=dict)  # strategy -> arena bytes
    search_steps: int = 0
    in_place: list = field(default_factory=list)  # (op index, input, output)
    scratch: dict = field(default_factory=dict)  # op index -> offset of its scratch buffer
    peak_layer: int = 0
    steps: int = 0

    def live_bytes(self, step: int) -> int:
        return live_bytes(self.buffers, step)

    def above(self) -> dict:
        """How many bytes the arena is above the lower bound, and why."""
        return above_lower_bound(self)

    def summary(self) -> dict:
        return {
            "strategy": self.strategy,
            "strategies": dict(self.strategy_bytes),
            "search": {"kind": "hill climb over the placement order", "seed": strategies.SEED,
                       "steps": self.search_steps},
            "alignment": ALIGN,
            "in_place": [{"layer": i, "input": a, "output": b} for i, a, b in self.in_place],
            "scratch": {str(i): o for i, o in self.scratch.items()},
            "peak_layer": self.peak_layer,
        }


def plan_buffers(bufs: list[Buffer], steps: int) -> tuple[str, dict, list[int], int]:
    """(winning strategy, arena bytes of each strategy, offsets, search steps)."""
    floor, _ = lower_bound(bufs, steps)
    tried, sizes = {}, {}
    for name, order_fn in strategies.GREEDY.items():
        order = order_fn(bufs)
        tried[name] = (order, strategies.place(bufs, order))
        sizes[name] = strategies.arena_of(bufs, tried[name][1])
    start = min(sizes, key=lambda k: (sizes[k], list(sizes).index(k)))
    order, search = strategies.hill_climb(bufs, tried[start][0], floor)
    tried["hill_climb"] = (order, strategies.place(bufs, order))
    sizes["hill_climb"] = strategies.arena_of(bufs, tried["hill_climb"][1])
    best = min(sizes, key=lambda k: (sizes[k], list(sizes).index(k)))
    return best, sizes, tried[best][1], search


def plan(graph: Graph, in_place: bool = True) -> Plan:
    bufs, pairs = buffers(graph, in_place)
    return plan_from_buffers(bufs, len(graph.ops), _no_reuse(graph, bufs), pairs)


def plan_from_buffers(bufs: list[Buffer], steps: int, no_reuse: int | None = None, pairs=()) -> Plan:
    best, sizes, offs, search = plan_buffers(bufs, steps)
    floor, peak = lower_bound(bufs, steps)
    no_reuse = sum(b.size for b in bufs) if no_reuse is None else no_reuse
    p = Plan({}, {}, {}, strategies.arena_of(bufs, offs), floor, no_reuse, bufs, offs,
             best, sizes, search, list(pairs), peak_layer=peak, steps=steps)
    for b, o in zip(bufs, offs):
        for t in b.tensors:
            p.offsets[t], p.sizes[t], p.lifetimes[t] = o, b.size, (b.start, b.end)
        if not b.tensors:
            p.scratch[b.start] = o
    return p


def _no_reuse(graph: Graph, bufs: list[Buffer]) -> int:
    """Every tensor (and scratch buffer) in bytes of its own."""
    return sum(aligned(graph.tensors[t].nbytes) for b in bufs for t in b.tensors) + \
        sum(b.size for b in bufs if not b.tensors)

