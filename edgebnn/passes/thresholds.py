"""BatchNorm (+ scale) + binarizer -> one integer threshold per channel.

A binary layer's accumulator can only take the K + 1 values ``d = K - 2c``.  The
pass runs the float32 chain (exactly as the graph computes it) on every one of
them and reads off where the decision changes, so float rounding can never flip a
decision: gamma < 0 (decision falls with d), gamma = 0 (constant), infinities and
NaNs all come out of the same table.  Result: ``bit = (d < thr) ^ neg``.
"""
from __future__ import annotations

import numpy as np

from .. import chain as chains
from ..errors import EdgebnnError
from ..ir import Graph, Op


def decisions(k: int, op: Op) -> np.ndarray:
    """bits (K + 1, n) for every dot value d = -K, -K + 2, ..., K (ascending)."""
    n = op.attrs["t"].size
    d = np.arange(-k, k + 1, 2, dtype=np.float32)[:, None]
    flat = tuple((s, c.reshape(-1)) for s, c in op.attrs["chain"])
    v = chains.apply(flat, np.broadcast_to(d, (k + 1, n)))
    t = op.attrs["t"].reshape(-1)
    holds = v >= t if op.attrs["cmp"] == "ge" else v > t
    return holds if op.attrs["invert"] else ~holds


def integer_thresholds(k: int, op: Op) -> tuple[np.ndarray, np.ndarray]:
    """(thr int32 (n,), neg bool (n,)) with bit = (d < thr) ^ neg."""
    bits = decisions(k, op)
    falling = np.all(bits[1:] <= bits[:-1], axis=0)  # ones for small d: bit = d < thr
    rising = np.all(bits[1:] >= bits[:-1], axis=0)  # ones for large d: bit = !(d < thr)
    bad = ~(falling | rising)
    if np.any(bad):
        ch = int(np.argmax(bad))
        raise EdgebnnError(
            f"channel {ch}: the activation before this binarizer is not monotonic in the layer's "
            "accumulator, so it is not a threshold; edgebnn supports affine (BatchNorm, Mul, Add) steps here",
            op.name,
        )
    ones = bits.sum(axis=0)
    neg = ~falling
    count = np.where(neg, (k + 1) - ones, ones)  # leading run of the value below thr
    thr = (-k + 2 * count).astype(np.int64)
    return thr.astype(np.int32), neg


def run(graph: Graph) -> Graph:
    for op in graph.ops:
        if op.kind != "threshold" or "thr" in op.attrs:
            continue
        producer = graph.producer(op.inputs[0])
        k = producer.attrs["k"]
        thr, neg = integer_thresholds(k, op)
        op.attrs = {"thr": thr, "neg": neg, "k": k, "source": op.attrs}
    return graph
