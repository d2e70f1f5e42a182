"""Buffers to place: one per arena tensor (or in-place chain of tensors), with the span of
ops during which it must hold its bytes.

The graph input and output live in caller-owned buffers and get no arena bytes.  An
op's inputs and output are live together (a kernel reads while it writes), except where
the kernel is known to be safe with ``in == out``: then the output takes over its
input's bytes and the two tensors form one buffer.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..ir import Graph, Op

ALIGN = 8

# Kernels that read element i before writing element i and touch no other element in
# between, so the output may overwrite the input: ebnn_affine_f32/_i32 and
# ebnn_scale_rows (runtime_c/ebnn_chain.c).  NOT ebnn_threshold/ebnn_binarize_f32 (they
# zero whole output words first), pooling, convolution, gather.  Re-check this list when
# a kernel of these ops changes.
IN_PLACE_KINDS = ("affine", "scale_rows")


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


# Accumulator producers that an optimised kernel may fuse with the threshold after them
# (codegen_opt.py: ebnn_b*_thr_opt writes the threshold's bits during the producer's op).
FUSIBLE = ("bdense", "bconv")


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
    made = {t: i for i, op in enumerate(graph.ops) for t in op.outputs}
    for op in graph.ops:  # a fused threshold's bits are written during its producer's op,
        j = _fused_producer(graph, op, made)  # while that op still reads its own input
        if j is not None and op.outputs[0] in found:
            found[op.outputs[0]][0] = min(found[op.outputs[0]][0], j)
    return found


def _fused_producer(graph: Graph, op: Op, made: dict) -> int | None:
    """Index of the bdense/bconv a threshold may be fused into (it alone reads its output)."""
    acc = op.inputs[0] if op.kind == "threshold" else None
    if acc not in made or graph.ops[made[acc]].kind not in FUSIBLE:
        return None
    return made[acc] if [o for o in graph.ops if acc in o.inputs] == [op] else None


def in_place_ok(graph: Graph, op: Op, span: dict) -> bool:
    """May ``op`` write its output over its first input?"""
    src, out = op.inputs[0], op.outputs[0]
    if op.kind not in IN_PLACE_KINDS or src not in span or out not in span:
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
