"""A float step program before a float max-pool moved past it into the binarizer after it:
conv -> affine (a bias, a positive scale) -> maxpool -> binarize becomes conv -> maxpool ->
binarize with the affine's steps first in its chain, so that the real-valued layer's kernel
can take the pool and the binarizer as epilogues (ir/ops/real_bits.py) and no float map is
stored.

Exact: the steps are add/sub with finite constants and mul/div by positive finite constants,
the same for every pixel of a channel.  Each is non-decreasing, keeps NaN NaN and no other
value NaN, and maps -inf to -inf, so the max over a window (NaN skipped, -inf when all are
NaN) of the stepped values is the stepped max; the results can differ only in the sign of
zero, to which the binarizer's folded chain is blind (the move is made only when it folds).
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from ..ir.ops import real_bits


PATTERN = ("affine", "maxpool", "binarize")


def run(graph: Graph) -> Graph:
    for binarize in list(graph.ops):
        pool = graph.producer(binarize.inputs[0])
        affine = graph.producer(pool.inputs[0]) if pool is not None else None
        if affine is None or tuple(o.kind for o in (affine, pool, binarize)) != PATTERN \
                or graph.consumers(pool.outputs[0]) != [binarize] or graph.consumers(affine.outputs[0]) != [pool] \
                or graph.output in (affine.outputs[0], pool.outputs[0]) or graph.tensors[affine.inputs[0]].dtype != "f32":
            continue
        steps = _per_channel(graph, affine, graph.tensors[binarize.outputs[0]].rows)
        if steps is None:
            continue
        moved = dict(binarize.attrs, chain=tuple(steps) + tuple(binarize.attrs["chain"]))
        if real_bits.channel_thresholds(graph, Op(binarize.kind, binarize.name, binarize.inputs,
                                                  binarize.outputs, moved)) is None:
            continue
        binarize.attrs = moved
        pool.inputs[0] = affine.inputs[0]
        graph.ops.remove(affine)
    return graph


def _per_channel(graph: Graph, affine: Op, rows: int):
    """The affine's steps per channel, repeated over ``rows`` pixels, when each is
    non-decreasing and the same for every pixel of a channel; else None."""
    t = graph.tensors[affine.outputs[0]]
    steps = []
    for op, c in affine.attrs["chain"]:
        c = np.asarray(c, np.float32).reshape(-1)
        if op not in ("add", "sub", "mul", "div") or not np.all(np.isfinite(c)) or c.size not in (1, t.size):
            return None
        if op in ("mul", "div") and not np.all(c > 0):
            return None
        per = np.broadcast_to(c, (t.size,)).reshape(t.rows, t.channels)
        if not np.all(per.view(np.uint32) == per[:1].view(np.uint32)):
            return None
        steps.append((op, np.tile(per[0], rows).astype(np.float32)))
    return steps
