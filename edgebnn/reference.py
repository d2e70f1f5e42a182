"""The numpy executor of the lowered IR: the semantics every back end is checked against.

It works on the same packed words, integer thresholds and float32 step order as the
C kernels, batched over the first axis.
"""
from __future__ import annotations

import numpy as np

from . import bits, chain as chains
from .ir import Graph, Op


def _flat_chain(op: Op):
    return tuple((s, c.reshape(-1)) for s, c in op.attrs["chain"])


def _binarize(g: Graph, op: Op, x):
    v = chains.apply(_flat_chain(op), x)
    t = op.attrs["t"].reshape(-1)
    holds = v >= t if op.attrs["cmp"] == "ge" else v > t
    return bits.pack(holds if op.attrs["invert"] else ~holds)


def _bdense(g: Graph, op: Op, x):
    w = g.consts[op.attrs["weight"]]  # (N, words)
    mismatches = bits.popcount(x[:, None, :] ^ w[None, :, :]).sum(axis=-1)
    return (op.attrs["k"] - 2 * mismatches).astype(np.int32)


def _threshold(g: Graph, op: Op, d):
    return bits.pack((d < op.attrs["thr"]) ^ op.attrs["neg"])


def _affine(g: Graph, op: Op, x):
    return chains.apply(_flat_chain(op), x.astype(np.float32))


def _accumulate(terms):
    """Sum float32 terms one input feature at a time, as the C loop does."""
    acc = None
    for term in terms:
        acc = term.astype(np.float32) if acc is None else (acc + term).astype(np.float32)
    return acc


def _dense(g: Graph, op: Op, x):
    w = g.consts[op.attrs["weight"]]  # (N, K) float32
    if w.shape[1] == 0:
        return np.zeros((x.shape[0], w.shape[0]), np.float32)
    return _accumulate(x[:, i, None] * w[None, :, i] for i in range(w.shape[1]))


def _dense_binw(g: Graph, op: Op, x):
    k = op.attrs["k"]
    neg = bits.unpack(g.consts[op.attrs["weight"]], k)  # (N, K)
    if k == 0:
        return np.zeros((x.shape[0], neg.shape[0]), np.float32)
    return _accumulate(np.where(neg[None, :, i], -x[:, i, None], x[:, i, None]) for i in range(k))


def _unpack(g: Graph, op: Op, x):
    n = g.tensors[op.outputs[0]].size
    neg = bits.unpack(x, n)
    return np.where(neg, np.float32(op.attrs["lo"]), np.float32(op.attrs["hi"])).astype(np.float32)


KERNELS = {
    "binarize": _binarize,
    "bdense": _bdense,
    "threshold": _threshold,
    "affine": _affine,
    "dense": _dense,
    "dense_binw": _dense_binw,
    "unpack": _unpack,
}


class Reference:
    def __init__(self, graph: Graph):
        self.graph = graph

    def run(self, x: np.ndarray) -> np.ndarray:
        g = self.graph
        x = np.asarray(x, np.float32)
        if tuple(x.shape[1:]) != tuple(g.input_shape[1:]):
            raise ValueError(f"input of shape {x.shape}: expected (N, {', '.join(map(str, g.input_shape[1:]))})")
        env = {g.input: x.reshape(x.shape[0], -1)}
        for op in g.ops:
            env[op.outputs[0]] = KERNELS[op.kind](g, op, env[op.inputs[0]])
        return env[g.output].reshape((x.shape[0],) + tuple(g.output_shape[1:]))
