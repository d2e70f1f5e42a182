"""A binarizer's monotone float32 chain and threshold folded into one float32 threshold per
element, exact for every float32 input (NaN too): what the optimised binarize kernel
(ebnn_binarize_cmp_f32) compares against."""
from __future__ import annotations

import numpy as np

from . import chain as chains

# Steps that keep a float32 chain monotone (IEEE rounding is monotone) when their
# constant is finite and non-zero; the sign of a mul/div constant sets the direction.
_MONOTONE = ("mul", "add", "sub", "div", "rsub")


def _ordered(bits: np.ndarray) -> np.ndarray:
    """float32 bit patterns -> int64 keys in float order (-0 just below +0)."""
    b = bits.astype(np.int64)
    return np.where(b & 0x80000000, -(b & 0x7FFFFFFF) - 1, b)


def _from_ordered(keys: np.ndarray) -> np.ndarray:
    k = keys.astype(np.int64)
    bits = np.where(k < 0, (-(k + 1)) | 0x80000000, k)
    return bits.astype(np.uint32).view(np.float32)


def fold_binarize(chain, t: np.ndarray, cmp: str, invert: bool, shape):
    """(thresholds float32 (n,), strict, invert) with
    bit(x) == bit of the chain for every float32 x (NaN too), or None when the chain is
    not provably monotone.  bit is 0 (+1) where x >= thr (x > thr when strict), swapped
    when invert."""
    n = int(np.prod(shape))
    t = np.broadcast_to(np.asarray(t, np.float32).reshape(-1), (n,)) if np.size(t) in (1, n) else None
    if t is None:
        return None
    sign = np.ones(n, np.int64)
    steps = []
    for op, c in chain:
        if op not in _MONOTONE:
            return None
        c = np.broadcast_to(np.asarray(c, np.float32).reshape(-1), (n,)) if np.size(c) in (1, n) else None
        if c is None or not np.all(np.isfinite(c)) or np.any(c == 0):
            return None
        if op in ("mul", "div"):
            sign = sign * np.where(c < 0, -1, 1)
        elif op == "rsub":
            sign = -sign
        steps.append((op, c.astype(np.float32)))
    if not np.all(np.isfinite(t)):
        return None

    def holds(x):
        v = chains.apply(tuple(steps), x.astype(np.float32))
        return v >= t if cmp == "ge" else v > t

    # holds is monotone in x: rising where sign > 0, falling where sign < 0.  Binary
    # search in float order for the first key where the decision is "rising-true".
    lo = np.full(n, _ordered(np.array([0xFF800000], np.uint32))[0])  # -inf
    hi = np.full(n, _ordered(np.array([0x7F800000], np.uint32))[0])  # +inf
    rising = sign > 0

    def up(keys):  # the decision in the rising orientation
        h = holds(_from_ordered(keys))
        return np.where(rising, h, ~h)

    top = up(hi)
    bottom = up(lo)
    # invariant: up(lo) false, up(hi) true (for elements that change at all)
    for _ in range(40):
        mid = (lo + hi) // 2
        m = up(mid)
        hi = np.where(m, mid, hi)
        lo = np.where(m, lo, mid)
    first = np.where(bottom, lo, hi)  # first key where up() is true
    # rising: holds <=> x >= first.  falling: holds <=> not (x >= first) <=> x < first
    thr = _from_ordered(first).astype(np.float32)
    thr = np.where(~top, np.float32(np.inf), thr)  # never true in the rising sense
    strict_rise = ~top  # x > +inf: never
    # A single strictness for the layer: fall back to the chain if they disagree.
    if np.any(strict_rise) and not np.all(strict_rise):
        if np.any(~top & bottom):
            return None
        # never-true elements: x >= +inf holds for +inf; use NaN (never true) instead
        thr = np.where(~top, np.float32(np.nan), thr)
    # bit = !holds (invert: holds).  rising: holds <=> x >= thr.  falling: holds <=> !(x >= thr)
    # but NaN: holds(NaN) is False in the chain; !(NaN >= thr) is True -> mismatch, so a
    # falling element must be expressed as x <= thr', which the kernel does not offer.
    if np.any(~rising):
        return None
    thr = thr.astype(np.float32)
    # Exactness check on the boundary, its neighbours, zeros, infinities and NaN.
    keys = _ordered(thr.view(np.uint32))
    probes = [thr, _from_ordered(keys - 1), _from_ordered(keys + 1), np.full(n, np.float32(np.nan)),
              np.full(n, np.float32(np.inf)), np.full(n, -np.float32(np.inf)), np.zeros(n, np.float32),
              np.full(n, np.float32(-0.0))]
    for x in probes:
        x = np.where(np.isnan(thr), np.float32(1.0), x).astype(np.float32)
        with np.errstate(invalid="ignore"):
            if not np.array_equal(holds(x), x >= thr):
                return None
    return thr, False, bool(invert)
