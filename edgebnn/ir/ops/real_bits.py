"""A real-valued layer (``conv``, ``dense``) whose float output only feeds a binarizer: its
kernel (runtime_c/ebnn_fconv.c) computes the binarizer's chain and comparison as one float32
comparison per channel (ir/directed_threshold.py, exact for every float32) and writes the
bits, so the float map never exists.  A falling channel (negative BatchNorm gamma) compares
its negated value: its weights are negated, or, after a float max-pool (fused too: the kernel
takes the max over the pool window exactly as ``ebnn_maxpool_f32`` does, NaN skipped), the
pooled value is multiplied by -1."""
from __future__ import annotations

import numpy as np

from ..directed_threshold import fold_directed
from ..graph import Graph, Op
from .base import Kernel

# the fused kernel: optimised, and it only runs with a binarizer as its last epilogue
BITS = Kernel("bits", optimized=True, epilogues=("maxpool", "binarize"), plain=False)
SOURCES = ("ebnn_fconv.h", "ebnn_fconv.c", "ebnn_fconv_blocks.c")


def channel_thresholds(graph: Graph, binarize: Op):
    """(key float32, neg bool, finite_only bool, each (channels,)) of a binarizer whose fold
    (``fold_directed``) is one per channel, shared by every pixel; else None."""
    a, out = binarize.attrs, graph.tensors[binarize.outputs[0]]
    fold = fold_directed(a["chain"], a["t"], a["cmp"], out.size)
    if fold is None:
        return None
    per_pixel = [v.reshape(out.rows, out.channels) for v in (fold[0].view(np.uint32), fold[1], fold[2])]
    if not all(np.all(v == v[:1]) for v in per_pixel):
        return None
    return tuple(v[:out.channels].copy() for v in fold)


def signed_weights(graph: Graph, op: Op, w: np.ndarray) -> np.ndarray:
    """Output-channel-major weights, the falling channels' rows negated unless a pool is fused
    (the pooled value is negated instead: the max of negated values is not the negated max)."""
    neg = channel_thresholds(graph, op.epilogues[-1])[1] & (pool_of(op) is None)
    return np.where(neg.reshape((-1,) + (1,) * (w.ndim - 1)), -w, w).astype(np.float32)


def _folding_binarizer(graph: Graph, op: Op) -> bool:
    return op.kind == "binarize" and channel_thresholds(graph, op) is not None


def absorbs(graph: Graph, op: Op, epilogue: Op, pool: bool) -> bool:
    """Whether the fused kernel computes ``epilogue`` (one of BITS.epilogues) next: a folding
    binarizer, or (``pool``, as the first epilogue) the max-pool whose only reader is one."""
    if _folding_binarizer(graph, epilogue):
        return True
    readers = graph.consumers(epilogue.outputs[0])
    return pool and not op.epilogues and epilogue.outputs[0] != graph.output and len(readers) == 1 \
        and _folding_binarizer(graph, readers[0])


def pool_of(op: Op):
    """The fused max-pool, if any: the first of two epilogues (the binarizer is the last)."""
    return op.epilogues[0] if len(op.epilogues) == 2 else None


def binarizer_args(em, op: Op, pooled: bool = True) -> str:
    """What the fused kernel takes for its binarizer: thresholds, upper bounds (FLT_MAX for
    the channels true on finite values only, a null pointer when there are none), with a fused
    pool each channel's sign (-1 for a falling one; a null pointer without a pool; only the
    conv kernel takes it) and the invert flag."""
    key, neg, finite_only = channel_thresholds(em.graph, op.epilogues[-1])
    hi = "(const float *)0"
    if finite_only.any():
        hi = em.const(em.p + "_hi", "float", np.where(finite_only, np.finfo(np.float32).max, np.inf).astype(np.float32))
    signs = ""
    if pooled:
        signs = ", " + (em.const(em.p + "_sgn", "float", np.where(neg, -1.0, 1.0).astype(np.float32))
                        if pool_of(op) is not None else "(const float *)0")
    return f"{em.const(em.p + '_t', 'float', key)}, {hi}{signs}, {int(op.epilogues[-1].attrs['invert'])}"


def pool_args(em, op: Op) -> str:
    """The fused max-pool's window as an int32 array, or a null pointer."""
    pool = pool_of(op)
    if pool is None:
        return "(const int32_t *)0"
    a = pool.attrs
    fields = [*a["kernel"], *a["stride"], a["pad"][0], a["pad"][1], *a["dilation"], *a["out_hw"]]
    return em.const(em.p + "_pool", "int32_t", np.array(fields, np.int32))
