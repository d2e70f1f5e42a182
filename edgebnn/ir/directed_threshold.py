"""A binarizer's chain and comparison folded per element into one float32 comparison of the
value or of its negation, exact for every float32 input (NaN and infinities too): what the
fused real-valued layers (runtime_c/ebnn_fconv.c) compute.

Unlike ``float_threshold.fold_binarize`` it takes falling elements (a negative BatchNorm
gamma: the kernel negates that channel's weights, which negates its sums exactly up to the
sign of zero) and constant ones (a zero gamma: true for every finite input or never)."""
from __future__ import annotations

import numpy as np

from . import chain as chains
from .float_threshold import _from_ordered, _ordered

# Steps monotone in x (IEEE rounding is monotone) with a finite constant; the sign of a
# mul/div constant sets the direction, a zero multiplier makes the element constant.
_MONOTONE = ("mul", "add", "sub", "div", "rsub", "max", "min")
_BIG = np.float32(np.finfo(np.float32).max)


def _constants(chain, n):
    """[(op, float32 (n,))] and (direction +-1, constant) per element, or None."""
    steps, sign, zero = [], np.ones(n, np.int64), np.zeros(n, bool)
    for op, c in chain:
        c = np.asarray(c, np.float32).reshape(-1)
        if op not in _MONOTONE or c.size not in (1, n) or not np.all(np.isfinite(c)):
            return None
        c = np.broadcast_to(c, (n,)).astype(np.float32)
        if op == "div" and np.any(c == 0):
            return None
        if op in ("mul", "div"):
            zero |= c == 0
            sign = sign * np.where(c < 0, -1, 1)
        elif op == "rsub":
            sign = -sign
        steps.append((op, c))
    return tuple(steps), sign, zero


def fold_directed(chain, t, cmp: str, n: int):
    """(key float32 (n,), neg bool (n,), finite_only bool (n,)), with, for every float32 x,
    ``chain(x) >= t`` (``> t`` when cmp is "gt") == ``y >= key and (y <= FLT_MAX when
    finite_only)`` where y = -x where neg, else x; or None when no such fold is proved."""
    t = np.asarray(t, np.float32).reshape(-1)
    parts = _constants(chain, n)
    if parts is None or t.size not in (1, n) or not np.all(np.isfinite(t)):
        return None
    steps, sign, zero = parts
    t = np.broadcast_to(t, (n,))

    def holds(x):
        v = chains.apply(steps, np.asarray(x, np.float32))
        with np.errstate(invalid="ignore"):
            return v >= t if cmp == "ge" else v > t

    rising = sign > 0
    lo = np.full(n, _ordered(np.array([0xFF800000], np.uint32))[0])  # -inf
    hi = np.full(n, _ordered(np.array([0x7F800000], np.uint32))[0])  # +inf

    def up(keys):  # monotone non-decreasing in the key (false, then true)
        h = holds(_from_ordered(keys))
        return np.where(rising, h, ~h)

    top, bottom = up(hi), up(lo)
    for _ in range(40):  # first key where up() holds, between -inf and +inf
        mid = (lo + hi) // 2
        m = up(mid)
        hi, lo = np.where(m, mid, hi), np.where(m, lo, mid)
    first = np.where(bottom, lo, hi)
    nan = np.float32(np.nan)
    rise = np.where(top, _from_ordered(first), nan)  # holds <=> x >= rise
    fall = np.where(bottom, nan, np.where(top, _from_ordered(first - 1), np.float32(np.inf)))  # x <= fall
    key = np.where(rising, rise, -fall).astype(np.float32)
    finite_only = zero & holds(np.zeros(n, np.float32))
    key = np.where(zero, np.where(finite_only, -_BIG, nan), key).astype(np.float32)
    neg = ~rising & ~zero
    if not _exact(holds, key, neg, finite_only, np.where(rising, rise, fall).astype(np.float32)):
        return None
    return key, neg, finite_only


def _exact(holds, key, neg, finite_only, thr) -> bool:
    """The fold agrees with the chain at the threshold, its neighbours, zeros, the largest
    finite values, infinities and NaN."""
    n = key.size
    keys = _ordered(np.where(np.isnan(thr), np.float32(1), thr).view(np.uint32))
    probes = [thr, _from_ordered(keys - 1), _from_ordered(keys + 1)]
    probes += [np.full(n, v, np.float32) for v in (0.0, -0.0, _BIG, -_BIG, np.inf, -np.inf, np.nan, 1.0, -1.0)]
    for x in probes:
        x = np.where(np.isnan(thr) & ~np.isnan(x), np.float32(1), x).astype(np.float32) if x is thr else x
        y = np.where(neg, -x, x)
        with np.errstate(invalid="ignore"):
            fold = (y >= key) & (~finite_only | (y <= _BIG))
        if not np.array_equal(holds(x), fold):
            return False
    return True
