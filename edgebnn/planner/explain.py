"""Why an arena is bigger than the lower bound, byte by byte.

The buffer whose end is the arena's end (the "top") could not sit lower.  At the layer of
its lifetime where most bytes are live, everything under it that no live buffer uses is
a hole; the holes add up to at least the excess over the lower bound.  First-fit placed
the top at the lowest offset where it fitted, so every hole is either held by another
buffer at some other layer of the top's lifetime, or smaller than the top.
"""
from __future__ import annotations


def _layers(b) -> list[int]:
    return [b.start, b.end]


def _holes(bufs, offsets, step: int, arena: int) -> list[tuple[int, int]]:
    """Byte ranges of [0, arena) that no buffer live at ``step`` uses."""
    used = sorted((o, o + b.size) for b, o in zip(bufs, offsets) if b.start <= step <= b.end)
    holes, at = [], 0
    for lo, hi in used:
        if lo > at:
            holes.append((at, lo))
        at = max(at, hi)
    if at < arena:
        holes.append((at, arena))
    return holes


def _holders(bufs, offsets, top, lo: int, hi: int, step: int) -> list[dict]:
    """Buffers that hold bytes of [lo, hi) at some layer of ``top``'s lifetime."""
    return [{"tensor": b.name, "layers": _layers(b), "offset": o, "bytes": b.size}
            for b, o in zip(bufs, offsets)
            if b is not top and b.overlaps(top) and not (b.start <= step <= b.end) and o < hi and lo < o + b.size]


def above_lower_bound(plan) -> dict:
    bufs, offsets, arena = plan.buffers, plan.buffer_offsets, plan.arena_bytes
    excess = arena - plan.lower_bound_bytes
    out = {"bytes": excess, "lower_bound_bytes": plan.lower_bound_bytes, "peak_layer": plan.peak_layer}
    if excess <= 0:
        out["explanation"] = (f"the arena equals the lower bound: at layer {plan.peak_layer} the live "
                              f"tensors fill all {arena} bytes")
        out["holes"] = []
        return out
    top_i = max(range(len(bufs)), key=lambda i: (offsets[i] + bufs[i].size, -i))
    top = bufs[top_i]
    step = max(range(top.start, top.end + 1), key=lambda s: (plan.live_bytes(s), -s))
    holes = []
    for lo, hi in _holes(bufs, offsets, step, arena):
        held = _holders(bufs, offsets, top, lo, hi, step)
        why = ("held at other layers of its lifetime by "
               + ", ".join(f"{h['tensor']} (layers {h['layers'][0]}-{h['layers'][1]})" for h in held)) if held \
            else f"smaller than the {top.size} B it needs"
        holes.append({"offset": lo, "bytes": hi - lo, "free_at_layer": step, "held_by": held, "why": why})
    free = sum(h["bytes"] for h in holes)
    out.update({
        "top": {"tensor": top.name, "offset": offsets[top_i], "bytes": top.size, "layers": _layers(top)},
        "holes": holes,
        "explanation": (
            f"{excess} B above the lower bound ({plan.lower_bound_bytes} B live at layer {plan.peak_layer}): "
            f"'{top.name}' ({top.size} B, layers {top.start}-{top.end}) ends the arena at offset "
            f"{offsets[top_i]} + {top.size}; at layer {step} only {plan.live_bytes(step)} B are live and the "
            f"{free} B of holes under it cannot take it (each hole: "
            + "; ".join(f"{h['bytes']} B at {h['offset']}, {h['why']}" for h in holes)
            + f"). Best of {len(plan.strategy_bytes)} strategies ({plan.strategy})."),
    })
    return out
