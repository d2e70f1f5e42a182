"""Buffers to place: one per arena tensor (or in-place chain of tensors), with the span of
ops during which it must hold its bytes.

The graph input and output live in caller-owned buffers and get no arena bytes.  An
op's inputs and output are live together (a kernel reads while it writes), except where
the kernel is known to be safe with ``in == out``: then the output takes over its
input's bytes and the two tensors form one buffer (``in_place`` of the op kind, ir/ops/).
A fused op's intermediate (``passes.fusion``) is no tensor of the graph: it gets no bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, Op
from ..ir.ops import OPS

ALIGN = 8


def aligned(n: int, align: int = ALIGN) -> int:
    return (n + align - 1) // align * align


@dataclass
class Buffer:
    name: str
    tensors: tuple  # the tensors sharing these bytes, in op order (more than one: in place)
    raw_bytes: int  # the largest tensor's bytes before alignment
    start: int  # first op that writes it
    end: int  # last op that reads it

    @property
    def size(self) -> int:
        return aligned(self.raw_bytes)

    def overlaps(self, other: "Buffer") -> bool:
        return self.start <= other.end and other.start <= self.end


def spans(graph: Graph) -> dict:
    """tensor -> [first op, last op] for every tensor the arena must hold."""
    found = {}
    for i, op in enumerate(graph.ops):
        for t in op.inputs:
            if t in found:
                found[t][1] = i
        for t in op.outputs:
            if t != graph.output:
                found[t] = [i, i]
    return found


def in_place_ok(graph: Graph, op: Op, span: dict) -> bool:
    """May ``op`` write its output over its first input?"""
    src, out = op.inputs[0], op.outputs[0]
    if not OPS[op.kind].in_place or op.epilogues or src not in span or out not in span:
        return False  # graph input (read-only) or output (caller's buffer)
    same_bytes = graph.tensors[src].nbytes == graph.tensors[out].nbytes
    return same_bytes and span[src][1] == span[out][0] and src not in op.inputs[1:]


def buffers(graph: Graph, in_place: bool = True) -> tuple[list[Buffer], list[tuple]]:
    """(buffers, in-place pairs (op index, input, output)); scratch buffers of ops that
    declare ``attrs["scratch_bytes"]`` live for that op only."""
    span = spans(graph)
    owner = {t: t for t in span}
    pairs = []
    for i, op in enumerate(graph.ops):
        if in_place and in_place_ok(graph, op, span):
            owner[op.outputs[0]] = owner[op.inputs[0]]
            pairs.append((i, op.inputs[0], op.outputs[0]))
    groups: dict = {}
    for t in span:  # dict order is op order
        groups.setdefault(owner[t], []).append(t)
    out = [Buffer(root, tuple(ts), max(graph.tensors[t].nbytes for t in ts),
                  min(span[t][0] for t in ts), max(span[t][1] for t in ts)) for root, ts in groups.items()]
    for i, op in enumerate(graph.ops):
        if op.attrs.get("scratch_bytes", 0) > 0:
            out.append(Buffer(scratch_name(i), (), int(op.attrs["scratch_bytes"]), i, i))
    return out, pairs


def scratch_name(index: int) -> str:
    return f"scratch of layer {index}"


def live_bytes(bufs: list[Buffer], step: int) -> int:
    return sum(b.size for b in bufs if b.start <= step <= b.end)


def lower_bound(bufs: list[Buffer], steps: int) -> tuple[int, int]:
    """(the most bytes live at once, the first op where that happens): no placement of
    these buffers can use less."""
    best = (0, 0)
    for s in range(steps):
        best = max(best, (live_bytes(bufs, s), -s))
    return best[0], -best[1]
