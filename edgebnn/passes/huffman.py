"""Canonical Huffman codes over bytes: the entropy-coded form of sparse weight masks.

Code lengths come from the classic two-smallest merge (heapq), limited to
``MAX_LEN`` bits by flattening the counts; codes are canonical, so the decoder
needs only, per length, the first code, the number of codes and where their
symbols start (Moffat & Turpin).  The bit stream is MSB first in uint32 words.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

MAX_LEN = 15


@dataclass
class Code:
    lengths: dict  # symbol -> code length
    first: np.ndarray  # uint16 (MAX_LEN + 1,): first code of each length
    count: np.ndarray  # uint16 (MAX_LEN + 1,)
    offset: np.ndarray  # uint16 (MAX_LEN + 1,): index in symbols of the first code of each length
    symbols: np.ndarray  # uint8, by (length, symbol)
    codes: dict  # symbol -> code value

    @property
    def max_len(self) -> int:
        return max(self.lengths.values())


def _lengths(freq: dict) -> dict:
    if len(freq) == 1:
        return {next(iter(freq)): 1}
    heap = [(f, i, (s,)) for i, (s, f) in enumerate(sorted(freq.items()))]
    heapq.heapify(heap)
    depth = dict.fromkeys(freq, 0)
    tie = len(heap)
    while len(heap) > 1:
        f1, _, a = heapq.heappop(heap)
        f2, _, b = heapq.heappop(heap)
        for s in a + b:
            depth[s] += 1
        heapq.heappush(heap, (f1 + f2, tie, a + b))
        tie += 1
    return depth


def build(data: np.ndarray) -> Code:
    """A canonical code for the bytes in ``data``."""
    values, counts = np.unique(np.asarray(data, np.uint8), return_counts=True)
    freq = {int(v): int(c) for v, c in zip(values, counts)}
    lengths = _lengths(freq)
    while max(lengths.values()) > MAX_LEN:  # flatten the distribution until it fits
        freq = {s: (f + 1) // 2 + 1 for s, f in freq.items()}
        lengths = _lengths(freq)
    order = sorted(lengths, key=lambda s: (lengths[s], s))
    first = np.zeros(MAX_LEN + 1, np.uint16)
    count = np.zeros(MAX_LEN + 1, np.uint16)
    offset = np.zeros(MAX_LEN + 1, np.uint16)
    codes, code, prev = {}, 0, 0
    for i, s in enumerate(order):
        length = lengths[s]
        code <<= length - prev
        if count[length] == 0:
            first[length], offset[length] = code, i
        count[length] += 1
        codes[s] = code
        code += 1
        prev = length
    return Code(lengths, first, count, offset, np.array(order, np.uint8), codes)


def encode(code: Code, data: np.ndarray) -> tuple[np.ndarray, int]:
    """(uint32 words, MSB first; number of bits) of the bytes in ``data``."""
    pieces = []
    for b in np.asarray(data, np.uint8).tolist():
        n = code.lengths[b]
        pieces.append(format(code.codes[b], f"0{n}b"))
    return pack_msb("".join(pieces))


def pack_msb(bitstring: str) -> tuple[np.ndarray, int]:
    n = len(bitstring)
    padded = bitstring + "0" * (-n % 32)
    words = [int(padded[i:i + 32], 2) for i in range(0, len(padded), 32)]
    return np.array(words or [0], np.uint32), n


def decode(code: Code, words: np.ndarray, count: int) -> np.ndarray:
    """The inverse of ``encode`` (the C decoder's algorithm), for tests."""
    bits_ = "".join(format(int(w), "032b") for w in words)
    out, pos = [], 0
    for _ in range(count):
        value = 0
        for length in range(1, MAX_LEN + 1):
            value = (value << 1) | int(bits_[pos])
            pos += 1
            if value - int(code.first[length]) < int(code.count[length]) and value >= int(code.first[length]):
                out.append(int(code.symbols[int(code.offset[length]) + value - int(code.first[length])]))
                break
    return np.array(out, np.uint8)
