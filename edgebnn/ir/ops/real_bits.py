"""A real-valued layer (``conv``, ``dense``) whose float output only feeds a binarizer: its
kernel (runtime_c/ebnn_fconv.c) computes the BatchNorm + sign as one float32 threshold per
channel (``binarize``'s folded threshold, exact for every float32) and writes the bits, so
the float map never exists.  A float max-pool between them is fused too: the kernel takes
the max of the conv values over the pool window, exactly as ``ebnn_maxpool_f32`` does,
before comparing (pooling commutes with the monotone threshold, but NaN and -0 are then
handled exactly as in the unfused graph)."""
from __future__ import annotations

import numpy as np

from ..graph import Graph, Op
from .base import Kernel
from .binarize import folded

# the fused kernel: optimised, and it only runs with a binarizer as its last epilogue
BITS = Kernel("bits", optimized=True, epilogues=("maxpool", "binarize"), plain=False)


def channel_thresholds(graph: Graph, binarize: Op):
    """(thresholds float32 (channels,), invert) of a binarizer whose chain folds to one
    threshold per channel shared by every pixel, else None."""
    out = graph.tensors[binarize.outputs[0]]
    fold = folded(graph, binarize)
    if fold is None or fold[1]:
        return None
    t = fold[0].reshape(out.rows, out.channels)
    key = t.view(np.uint32)
    return (t[0].copy(), fold[2]) if np.all(key == key[:1]) else None


def absorbs(graph: Graph, op: Op, epilogue: Op, pool: bool) -> bool:
    """Whether the fused kernel computes ``epilogue`` next: a folding binarizer, or (``pool``,
    as the first epilogue) a float max-pool whose only reader is such a binarizer."""
    if epilogue.kind == "binarize":
        return channel_thresholds(graph, epilogue) is not None
    if epilogue.kind != "maxpool" or not pool or op.epilogues:
        return False
    readers = graph.consumers(epilogue.outputs[0])
    return epilogue.outputs[0] != graph.output and len(readers) == 1 and readers[0].kind == "binarize" \
        and channel_thresholds(graph, readers[0]) is not None


def pool_of(op: Op):
    """The fused max-pool, if any."""
    return next((e for e in op.epilogues if e.kind == "maxpool"), None)


def binarizer_args(em, op: Op) -> str:
    """The thresholds and invert flag the fused kernel takes for its binarizer."""
    t, invert = channel_thresholds(em.graph, op.epilogues[-1])
    return f"{em.const(em.p + '_t', 'float', t)}, {int(invert)}"


def pool_args(em, op: Op) -> str:
    """The fused max-pool's window as an int32 array, or a null pointer."""
    pool = pool_of(op)
    if pool is None:
        return "(const int32_t *)0"
    a = pool.attrs
    fields = [*a["kernel"], *a["stride"], a["pad"][0], a["pad"][1], *a["dilation"], *a["out_hw"]]
    return em.const(em.p + "_pool", "int32_t", np.array(fields, np.int32))
