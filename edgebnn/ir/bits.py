"""Bit packing (DESIGN.md): bit 1 = -1, 32 per uint32 word along the last axis,
element i of a word at bit i, the last word padded with 0 (= +1)."""
from __future__ import annotations

import numpy as np


def words(n: int) -> int:
    return (int(n) + 31) // 32


def pack(negative: np.ndarray) -> np.ndarray:
    """Pack a boolean array (True = -1) along its last axis into uint32 words."""
    neg = np.asarray(negative, bool)
    n = neg.shape[-1]
    padded = np.zeros(neg.shape[:-1] + (words(n) * 32,), bool)
    padded[..., :n] = neg
    as_bytes = np.packbits(padded, axis=-1, bitorder="little")
    return np.ascontiguousarray(as_bytes).view("<u4").astype(np.uint32)


def pack_signs(values: np.ndarray) -> np.ndarray:
    """Pack ±1 values (any sign-carrying array; < 0 means -1)."""
    return pack(np.asarray(values) < 0)


def unpack(packed: np.ndarray, n: int) -> np.ndarray:
    """Booleans (True = -1) of the first n elements along the last axis."""
    as_bytes = np.ascontiguousarray(packed.astype("<u4")).view(np.uint8)
    return np.unpackbits(as_bytes, axis=-1, bitorder="little")[..., :n].astype(bool)


def popcount(x: np.ndarray) -> np.ndarray:
    return np.bitwise_count(x.astype(np.uint32)).astype(np.int64)


def pack_at(flags: np.ndarray, slots: np.ndarray, total: int) -> np.ndarray:
    """Rows of booleans (n, k), column j placed at bit slot ``slots[j]`` of a row of ``total``
    slots (the others 0 = +1) -> uint32 words (n, total / 32)."""
    row = np.zeros((flags.shape[0], total), bool)
    row[:, slots] = flags
    return pack(row)


def pack_rows(neg: np.ndarray, t) -> np.ndarray:
    """(batch, n) booleans (True = -1) in the physical order of tensor ``t`` -> (batch, words)."""
    return pack(neg.reshape(len(neg), t.rows, t.channels)).reshape(len(neg), -1)


def unpack_rows(x: np.ndarray, t) -> np.ndarray:
    """(batch, words) of tensor ``t`` -> (batch, n) booleans."""
    wc = t.words // t.rows if t.rows else 0
    return unpack(x.reshape(len(x), t.rows, wc), t.channels).reshape(len(x), -1)
