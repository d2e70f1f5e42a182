"""Placement strategies (after TVM's unified static memory planner): each orders the
buffers and places them first-fit, at the lowest offset clear of every buffer already
placed that is live at the same time.  A hill climb then searches over the order.

Finding the smallest arena is NP-hard (dynamic storage allocation), so several cheap
orders compete and the planner keeps the best; all are deterministic.
"""
from __future__ import annotations

import random

from .lifetimes import Buffer

SEED = 0
# The hill climb's work bound: at most MAX_STEPS re-placements, fewer for big graphs so
# that (steps x buffers^2) stays near WORK.
MAX_STEPS = 600
WORK = 3_000_000


def place(bufs: list[Buffer], order: list[int]) -> list[int]:
    """Offsets of ``bufs`` placed first-fit in ``order``."""
    offsets = [0] * len(bufs)
    placed: list[int] = []
    for i in order:
        b = bufs[i]
        busy = sorted((offsets[j], offsets[j] + bufs[j].size) for j in placed if b.overlaps(bufs[j]))
        at = 0
        for lo, hi in busy:
            if at + b.size <= lo:
                break
            at = max(at, hi)
        offsets[i] = at
        placed.append(i)
    return offsets


def arena_of(bufs: list[Buffer], offsets: list[int]) -> int:
    return max((o + b.size for o, b in zip(offsets, bufs)), default=0)


def by_size(bufs: list[Buffer]) -> list[int]:
    """Largest first (TFLite Micro's and TVM's greedy-by-size)."""
    return sorted(range(len(bufs)), key=lambda i: (-bufs[i].size, bufs[i].start, i))


def by_conflicts(bufs: list[Buffer]) -> list[int]:
    """Most-constrained first: the buffers live together with the most others."""
    count = [sum(a.overlaps(b) for b in bufs) - 1 for a in bufs]
    return sorted(range(len(bufs)), key=lambda i: (-count[i], -bufs[i].size, bufs[i].start, i))


def by_start(bufs: list[Buffer]) -> list[int]:
    """In op order, as a stack allocator would place them."""
    return sorted(range(len(bufs)), key=lambda i: (bufs[i].start, -bufs[i].size, i))


GREEDY = {"greedy_by_size": by_size, "greedy_by_conflicts": by_conflicts, "greedy_by_start": by_start}


def hill_climb(bufs: list[Buffer], order: list[int], floor: int) -> tuple[list[int], int]:
    """Swap two buffers in the order, keep the swap when the arena does not grow (walking
    plateaus), stop at ``floor`` (the lower bound) or after the step budget.
    Returns (best order, steps taken)."""
    n = len(bufs)
    rng = random.Random(SEED)
    best, size = list(order), arena_of(bufs, place(bufs, order))
    steps = 0 if n < 2 else min(MAX_STEPS, WORK // (n * n))
    for step in range(steps):
        if size <= floor:
            return best, step
        i, j = rng.sample(range(n), 2)
        trial = list(best)
        trial[i], trial[j] = trial[j], trial[i]
        got = arena_of(bufs, place(bufs, trial))
        if got <= size:
            best, size = trial, got
    return best, steps
