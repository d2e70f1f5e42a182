"""BatchNorm (+ scale) + binarizer -> one integer threshold per element.

An accumulator of fan-in K can only hold the integers -K..K.  The pass runs the
float32 chain (exactly as the graph computes it) on every one of them and reads
off where the decision changes, so float rounding can never flip a decision:
gamma < 0 (decision falls with d), gamma = 0 (constant), infinities and NaNs all
come out of the same table.  Result: ``bit = (d < thr) ^ neg``.  Elements with the
same constants (every pixel of a channel) share one evaluation.
"""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError
from ..ir import Graph, Op
from ..ir import chain as chains
from . import ranges


def _params(op: Op) -> np.ndarray:
    """One row of constants per element: chain steps, then t."""
    cols = [c.reshape(-1) for _, c in op.attrs["chain"]] + [op.attrs["t"].reshape(-1)]
    return np.stack(cols, axis=1).astype(np.float32)


def integer_thresholds(k: int, op: Op) -> tuple[np.ndarray, np.ndarray]:
    """(thr int32 (n,), neg bool (n,)) with bit = (d < thr) ^ neg for d in -k..k."""
    params = _params(op)
    unique, inverse = np.unique(params.view(np.uint32), axis=0, return_inverse=True)
    unique = unique.view(np.float32)
    steps = tuple((s, unique[:, i]) for i, (s, _) in enumerate(op.attrs["chain"]))
    v = chains.table(steps, k, len(unique))
    t = unique[:, -1]
    holds = v >= t if op.attrs["cmp"] == "ge" else v > t
    bits = holds if op.attrs["invert"] else ~holds  # (2k + 1, unique), d ascending
    falling = np.all(bits[1:] <= bits[:-1], axis=0)  # ones for small d: bit = d < thr
    rising = np.all(bits[1:] >= bits[:-1], axis=0)  # ones for large d: bit = !(d < thr)
    if not np.all(falling | rising):
        raise EdgebnnError(
            "the activation before this binarizer is not monotonic in the layer's accumulator, so it "
            "is not a threshold; edgebnn supports affine (BatchNorm, Mul, Add) steps here",
            op.name,
        )
    ones = bits.sum(axis=0)
    neg = ~falling
    lead = np.where(neg, (2 * k + 1) - ones, ones)  # length of the leading run
    thr = (-k + lead).astype(np.int32)
    return thr[inverse.reshape(-1)], neg[inverse.reshape(-1)]


def run(graph: Graph) -> Graph:
    for op in graph.ops:
        if op.kind != "threshold" or "thr" in op.attrs:
            continue
        k = graph.tensors[op.inputs[0]].fanin
        ranges.check_fanin(k, op.name)  # before a table of 2k + 1 rows is built
        thr, neg = integer_thresholds(k, op)
        ranges.check_thresholds(k, thr, op.name)
        op.attrs = {"thr": thr, "neg": neg, "source": op.attrs}
    return graph
