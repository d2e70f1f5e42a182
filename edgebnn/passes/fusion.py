"""Epilogues fused into the op that produces their input, before planning.

An op whose input has no other reader (and is not the graph output) becomes an epilogue of
its producer when one of the producer's kernels allowed can compute it on its result before
storing (``OpKind.absorbs``): a threshold after a binary layer today.  The producer then
writes the epilogue's output, the intermediate tensor exists only in the kernel's registers,
and the planner, the report, the reference and the C all see that one fused op.
"""
from __future__ import annotations

from ..ir import Graph
from ..ir.ops import OPS


def run(graph: Graph, kernels: str = "optimized") -> Graph:
    optimized = kernels == "optimized"
    made = {t: op for op in graph.ops for t in op.outputs}
    readers: dict = {}
    for op in graph.ops:
        for t in set(op.inputs):
            readers.setdefault(t, []).append(op)
    for op in list(graph.ops):
        producer = made.get(op.inputs[0]) if len(op.inputs) == 1 else None
        if producer is None or op.inputs[0] != producer.outputs[0] or op.inputs[0] == graph.output \
                or readers[op.inputs[0]] != [op] or not OPS[producer.kind].absorbs(graph, producer, op, optimized):
            continue
        producer.epilogues.append(op)
        producer.outputs[0] = op.outputs[0]
        made[op.outputs[0]] = producer
        graph.ops.remove(op)
    return graph
