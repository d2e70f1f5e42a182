"""Logical (ONNX) order versus physical (IR) order of tensor elements.

A frontend value is a *view* of an IR tensor: ``idx[i]`` is the physical element
holding logical element ``i`` (row-major over the ONNX shape).  Transposes and
NCHW/NHWC changes only permute ``idx``; constants and weights are permuted to
the physical order when an op is emitted.
"""
from __future__ import annotations

import numpy as np

from ..ir.graph import Tensor


def identity(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


def hwc_index(c: int, h: int, w: int) -> np.ndarray:
    """Physical element of each logical (c, h, w) in an (H, W, C) tensor."""
    ci, hi, wi = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    return ((hi * w + wi) * c + ci).reshape(-1).astype(np.int64)


def slots(tensor: Tensor) -> np.ndarray:
    """Bit slot (position in the packed words) of each physical element of a bits tensor."""
    e = identity(tensor.size)
    per_row = 32 * ((tensor.channels + 31) // 32)
    return (e // tensor.channels) * per_row + e % tensor.channels


def to_physical(idx: np.ndarray | None, logical: np.ndarray, n: int) -> np.ndarray:
    """A per-element constant in logical order, placed in physical order."""
    flat = np.asarray(logical).reshape(-1)
    if idx is None:
        return np.ascontiguousarray(flat)
    out = np.empty(n, flat.dtype)
    out[idx] = flat
    return out


def strides(idx: np.ndarray | None, c: int, h: int, w: int):
    """(sc, sh, sw) when the view reads logical (c, h, w) at c*sc + h*sh + w*sw, else None."""
    idx = identity(c * h * w) if idx is None else idx
    grid = idx.reshape(c, h, w)
    sc = int(grid[1, 0, 0] - grid[0, 0, 0]) if c > 1 else 0
    sh = int(grid[0, 1, 0] - grid[0, 0, 0]) if h > 1 else 0
    sw = int(grid[0, 0, 1] - grid[0, 0, 0]) if w > 1 else 0
    ci, hi, wi = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    if grid[0, 0, 0] != 0 or not np.array_equal(grid, ci * sc + hi * sh + wi * sw):
        return None
    return sc, sh, sw
