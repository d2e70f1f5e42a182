"""Max-pooling moved behind its threshold, onto bits: maxpool(i32) -> threshold becomes
threshold -> maxpool(bits), so no pooled accumulator map exists.

``bit = (d < thr) ^ neg`` is monotone in d per channel, so it commutes with the pool: after
a max-pool ``d < thr`` holds where it holds at every tap (an AND of the taps' decisions), after
a min-pool (``use_min``: a decreasing BatchNorm) where it holds at some tap (an OR); ``neg``
swaps the two.  The bits max-pool's ``or_mask`` marks the channels that take the OR
(``use_min ^ neg``).  Only where every pixel of a channel has the same threshold; padded taps
are ignored by both pools.  passes.fusion can then make the threshold and the pool epilogues
of the convolution that produced the accumulators.
"""
from __future__ import annotations

import numpy as np

from ..ir import Graph, Op
from ..ir.ops.threshold import per_channel


PATTERN = ("maxpool", "threshold")  # a pool whose output only the threshold reads


def run(graph: Graph) -> Graph:
    for pool in list(graph.ops):
        src = graph.tensors[pool.inputs[0]]
        readers = graph.consumers(pool.outputs[0])
        if (pool.kind, *(r.kind for r in readers)) != PATTERN or src.dtype != "i32" \
                or pool.outputs[0] == graph.output or "thr" not in readers[0].attrs:
            continue
        found = per_channel(readers[0].attrs["thr"], readers[0].attrs["neg"], src.channels)
        if found is not None:
            _swap(graph, pool, readers[0], *found)
    return graph


def _swap(graph: Graph, pool: Op, thr_op: Op, thr: np.ndarray, neg: np.ndarray) -> None:
    """maxpool(i32) x -> y, threshold y -> z  becomes  threshold x -> b, maxpool(bits) b -> z."""
    x, y, z = pool.inputs[0], pool.outputs[0], thr_op.outputs[0]
    src = graph.tensors[x]
    b = graph.fresh(f"{z}_unpooled")
    graph.add_tensor(b, "bits", src.shape)
    use_min = np.broadcast_to(np.asarray(pool.attrs["use_min"], bool), (src.channels,))
    thr_op.attrs = {**thr_op.attrs, "thr": np.tile(thr, src.rows).astype(np.int32),
                    "neg": np.tile(neg, src.rows).astype(bool)}
    thr_op.inputs, thr_op.outputs = [x], [b]
    pool.attrs = {**{k: v for k, v in pool.attrs.items() if k != "use_min"}, "or_mask": use_min ^ neg.astype(bool)}
    pool.inputs, pool.outputs = [b], [z]
    del graph.tensors[y]
    i, j = graph.ops.index(pool), graph.ops.index(thr_op)
    graph.ops[i], graph.ops[j] = thr_op, pool
