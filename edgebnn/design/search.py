"""Estimate every candidate, keep those inside the budgets, and find the Pareto front.

Front: no other fitting candidate has at least the connections and MACs (capacity) with no
more instructions and no more flash, and is better in one of them.  Sorted by connections,
then MACs: row 1 is the largest network that fits.  A candidate whose float
input/output buffers alone, or whose weights at the entropy bound, pass the budget is
skipped unestimated (it cannot fit whatever the planner does).
"""
from __future__ import annotations

import math

from ..errors import EdgebnnError
from . import arch as archs
from . import estimate as est


def _entropy_bits(rate: float) -> float:
    if rate >= 1:
        return 1.0
    return -rate * math.log2(rate) - (1 - rate) * math.log2(1 - rate) + rate  # mask + sign bits


def hopeless(arch: dict, tgt) -> str | None:
    """Why the candidate cannot fit, from figures no plan can lower; None if it might."""
    io = 4 * (math.prod(arch["input"]) + arch["classes"])
    bits = sum(n * (32 if layer.get("real") else _entropy_bits(layer["rate"]))
               for n, layer in zip(archs.weights(arch), arch["layers"]))
    if io > tgt.sram_bytes:
        return "input/output buffers"
    if bits / 8 > tgt.flash_bytes:
        return "weights"
    for layer, (c, h, w) in zip(arch["layers"], archs.shapes(arch)):
        if layer["op"] == "conv" and layer.get("real") and not layer.get("pool") and io + 4 * c * h * w > tgt.sram_bytes:
            return "float feature map"  # a real convolution writes its whole float map
    return None


def run(candidates: list[dict], tgt, max_instructions: int | None = None) -> list[dict]:
    """Every candidate's estimate (skipped ones with ``skipped``) and whether it fits."""
    rows = []
    for a in candidates:
        why = hopeless(a, tgt)
        if why:
            rows.append({"label": archs.label(a), "arch": a, "skipped": why, "fits": False})
            continue
        r = est.estimate(a, tgt, instructions=True)
        r["fits"] = (r["flash_bytes"] <= tgt.flash_bytes and r["sram_bytes"] <= tgt.sram_bytes
                     and (max_instructions is None or r["instructions"] <= max_instructions))
        rows.append(r)
    return rows


def pareto(rows: list[dict]) -> list[dict]:
    fit = [r for r in rows if r["fits"]]

    def key(r):  # larger is better in every place
        return (r["connections"], r["macs"], -r["instructions"], -r["flash_bytes"])

    def dominates(a, b):
        ka, kb = key(a), key(b)
        return all(x >= y for x, y in zip(ka, kb)) and ka != kb

    front = [r for r in fit if not any(dominates(o, r) for o in fit)]
    return sorted(front, key=lambda r: (-r["connections"], -r["macs"], r["instructions"]))


def no_fit_message(rows: list[dict], tgt, max_instructions) -> str:
    done = [r for r in rows if "skipped" not in r]
    budget = f"{tgt.sram_bytes} B SRAM, {tgt.flash_bytes} B flash" + (
        f", {max_instructions} instructions" if max_instructions else "")
    if not done:
        return f"no candidate can fit {tgt.name} ({budget}): even the input/output buffers or weights are too big"
    s = min(done, key=lambda r: r["sram_bytes"])
    f = min(done, key=lambda r: r["flash_bytes"])
    i = min(done, key=lambda r: r["instructions"])
    return (f"no candidate fits {tgt.name} ({budget}); the smallest need {s['sram_bytes']} B SRAM "
            f"({s['label']}), {f['flash_bytes']} B flash ({f['label']}), {i['instructions']} instructions "
            f"({i['label']}): raise the budgets or give a smaller --input")


def check_fits(rows, tgt, max_instructions) -> None:
    if not any(r["fits"] for r in rows):
        raise EdgebnnError(no_fit_message(rows, tgt, max_instructions))
