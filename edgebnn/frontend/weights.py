"""What kind of binary weights a constant holds, per output channel.

Every output channel n of a layer's weights (K, N) is written as
``w = beta_n + gamma_n * m * sigma``: ``m`` the connection mask, ``sigma`` ±1 signs.

- dense binary ±s:              m = 1, sigma = sign, gamma = s, beta = 0
- pruned bipolar {-s, 0, +s}:   m = (w != 0), sigma = sign, gamma = s, beta = 0
- two-level {beta, alpha}, mostly beta (the rare "1" state is alpha):
                                m = (w == alpha), sigma = +1, gamma = alpha - beta
Anything else (three or more values, not of the pruned form) is not binary.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class BinaryWeights:
    signs: np.ndarray  # int8 (N, K) of ±1
    mask: np.ndarray | None  # int8 (N, K) of 0/1; None when every weight is connected
    gamma: np.ndarray  # float32 (N,)
    beta: np.ndarray  # float32 (N,)

    @property
    def density(self) -> float:
        return 1.0 if self.mask is None else float(self.mask.mean()) if self.mask.size else 0.0


def _column(col: np.ndarray):
    """(mask, sign, gamma, beta) of one output channel, or None."""
    mags = np.abs(col)
    s = mags.max() if col.size else np.float32(1)
    if np.all((mags == s) | (col == 0)):
        return col != 0, np.where(col < 0, -1, 1), s, 0.0
    values, counts = np.unique(col, return_counts=True)
    if len(values) != 2:
        return None
    beta, alpha = (values[0], values[1]) if counts[0] >= counts[1] else (values[1], values[0])
    return col == alpha, np.ones(col.shape, int), alpha - beta, beta


def analyse(w: np.ndarray) -> BinaryWeights | None:
    """The binary form of weights (K, N), or None if they are not binary."""
    if w.ndim != 2 or not np.all(np.isfinite(w)):
        return None
    cols = [_column(w[:, n]) for n in range(w.shape[1])]
    if any(c is None for c in cols):
        return None
    k, n = w.shape
    mask = np.array([c[0] for c in cols], bool).reshape(n, k)
    signs = np.array([c[1] for c in cols], np.int8).reshape(n, k)
    gamma = np.array([c[2] for c in cols], np.float32)
    beta = np.array([c[3] for c in cols], np.float32)
    return BinaryWeights(signs, None if mask.all() else mask.astype(np.int8), gamma, beta)
