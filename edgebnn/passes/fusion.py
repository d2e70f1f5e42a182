"""Epilogues fused into the op that produces their input, before planning.

An op whose input has no other reader (and is not the graph output) becomes an epilogue of
its producer when one of the producer's kernels allowed can compute it on its result before
storing (``OpKind.absorbs``): a threshold after a binary layer today.  The producer then
writes the epilogue's output, the intermediate tensor exists only in the kernel's registers,
and the planner, the report, the reference and the C all see that one fused op.
"""
from __future__ import annotations

from ..ir import Graph, Op
from ..ir.ops import OPS


def run(graph: Graph, kernels: str = "optimized") -> Graph:
    optimized = kernels == "optimized"
    for op in list(graph.ops):
        producer = graph.producer(op.inputs[0]) if len(op.inputs) == 1 else None
        if producer is not None and _fusible(graph, producer, op, optimized):
            producer.epilogues.append(op)
            producer.outputs[0] = op.outputs[0]
            graph.ops.remove(op)
    return graph


def _fusible(graph: Graph, producer: Op, op: Op, optimized: bool) -> bool:
    """op alone reads the producer's output, which is not the graph's, and a kernel of the
    producer can compute op on its result."""
    t = op.inputs[0]
    return t == producer.outputs[0] and t != graph.output and graph.consumers(t) == [op] \
        and OPS[producer.kind].absorbs(graph, producer, op, optimized)
