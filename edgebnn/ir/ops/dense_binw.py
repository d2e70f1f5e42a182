"""``dense_binw``: f32 (K) -> f32 (N) with ±1 weights: ``weight`` int8 (N, K), column j at
input slot ``slots[j]`` of a row of ``total`` slots, packed to uint32 words by
``passes.packing`` (a real-valued input meeting binary weights: adds and subtracts only)."""
from __future__ import annotations

import numpy as np

from .. import bits
from .base import PORTABLE, Kernel
from .dense import Dense, accumulate


class DenseBinW(Dense):
    kind = "dense_binw"
    binary_weights = True
    ctype, function, weight_bits = "uint32_t", "ebnn_dense_binw", 1
    kernels = (Kernel(PORTABLE),)  # not the fused float kernel of Dense

    def reference(self, graph, op, x):
        n = graph.tensors[op.inputs[0]].size
        neg = bits.unpack(graph.consts[op.attrs["weight"]], n)  # (N, n)
        zero = np.zeros((x.shape[0], neg.shape[0]), np.float32)
        return accumulate((np.where(neg[None, :, i], -x[:, i, None], x[:, i, None]) for i in range(n)), zero)

    def pack(self, op, flags):
        return bits.pack_at(flags, op.attrs["slots"], op.attrs["total"])
