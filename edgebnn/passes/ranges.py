"""Integer ranges, proven at compile time: every integer the emitted C computes fits its type.

The C keeps a binary layer's accumulator in ``int32_t``.  A kernel counts mismatches
``c`` (0..K for fan-in K; padding bits never mismatch) and writes ``K - 2c`` (the sparse
kernels ``popcount(m) - 2 popcount(...)``, conv ``taps * C - 2c``), so the largest
magnitude on the way is ``2K``: it must not pass INT32_MAX, or the sum wraps (undefined
behaviour in C, a wrong class on the device).  An accumulator read by a float step
(BatchNorm, scale, the two-level sum) is converted to float exactly only while ``K <= 2^24``.
A threshold ``bit = (d < thr) ^ neg`` is only meaningful for ``thr`` in ``-K..K+1``
(``passes.thresholds`` saturates infinities to those ends), which int32 then holds.  Element
indices and byte offsets of every tensor and constant are int32 in the kernels.

This pass checks the whole lowered graph, fused ops too (it changes nothing); the frontend
and the threshold pass call ``check_fanin`` before they build anything whose size grows with K.
"""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError
from ..ir import Graph

INT32_MAX = 2**31 - 1
# Integers up to this magnitude convert to float32 exactly.
FLOAT_EXACT = 1 << 24
# The largest fan-in whose accumulator and thresholds int32 is proven to hold.
MAX_FANIN = min(INT32_MAX // 2, FLOAT_EXACT)


def check_fanin(fanin: int, layer: str) -> None:
    """Refuse a binary layer whose accumulator int32_t cannot hold (or float32 not convert exactly)."""
    if fanin < 0 or fanin > MAX_FANIN:
        raise EdgebnnError(
            f"a fan-in of {fanin} is outside what edgebnn's int32 accumulator holds exactly "
            f"(0..{MAX_FANIN}: the kernel computes K - 2 * mismatches, and float steps read it); "
            "split the layer", layer)


def check_thresholds(fanin: int, thr: np.ndarray, layer: str) -> None:
    """Refuse integer thresholds outside -K..K+1 (or not int32): the comparison would not be
    the one the model computes."""
    thr = np.asarray(thr)
    if thr.size and (thr.dtype != np.int32 or int(thr.min()) < -fanin or int(thr.max()) > fanin + 1):
        raise EdgebnnError(
            f"integer thresholds {int(thr.min())}..{int(thr.max())} ({thr.dtype}) fall outside the "
            f"accumulator's range -{fanin}..{fanin + 1} for fan-in {fanin}; this is a bug in edgebnn's "
            "threshold folding: please report it with the model", layer)


def _check_sizes(graph: Graph) -> None:
    for name, t in graph.tensors.items():
        if t.nbytes > INT32_MAX:
            raise EdgebnnError(f"tensor of shape {list(t.shape)} takes {t.nbytes} bytes: more than the "
                               "int32 offsets of the kernels address", name)
    for name, c in graph.consts.items():
        if np.asarray(c).nbytes > INT32_MAX:
            raise EdgebnnError(f"constant of {np.asarray(c).size} values is more than the int32 indices of "
                               "the kernels address", name)


def run(graph: Graph) -> Graph:
    _check_sizes(graph)
    for op in graph.ops:
        for step in (op, *op.epilogues):  # a fused op's accumulator is its result, in registers
            for name in (step.result, *step.outputs):
                t = graph.tensors[name]
                if t.dtype == "i32":
                    check_fanin(t.fanin, step.name)
            if "thr" in step.attrs:  # integer thresholds (passes.thresholds)
                check_thresholds(graph.tensors[step.inputs[0]].fanin, step.attrs["thr"], step.name)
    return graph
