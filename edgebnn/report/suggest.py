"""What to change in a model that does not fit: numbers, checked by re-analysing.

Flash: the connection rate that brings the largest binary layers under budget.  Each rate is
tried on the model's own IR (a random mask at that rate on the layer's weights, then the
real passes, planner and the target's compiler), so the figure printed is one the compiler
produced, not a formula's.  SRAM: activations do not shrink with sparsity, so the advice is
a width -- the channels of the layer whose live bytes pass the room the budget leaves for
the arena, scaled to fit (from the plan's live bytes; re-run `plan` to confirm).
"""
from __future__ import annotations

import numpy as np

from .. import codegen, frontend, passes, planner, targets
from ..codegen import sizes
from ..ir.ops import OPS
from ..version import __version__
from . import report_json as reports

RATES = (0.5, 0.25, 0.1, 0.05, 0.02)
MAX_LAYERS = 3


def _analyse(graph, tgt) -> dict:
    low = passes.lower(graph)
    plan = planner.plan(low)
    files, layer_bytes = codegen.render(low, plan, __version__)
    return reports.build(low, plan, tgt, layer_bytes, sizes.measure(files, tgt))


def _sparsify(graph, names: list[str], rate: float):
    """A copy of the (unlowered) graph with these layers keeping ``rate`` of their connections."""
    import copy

    g = copy.deepcopy(graph)
    rng = np.random.default_rng(0)
    for op in g.ops:
        if op.name in names and OPS[op.kind].sparse_kernels:
            w = g.consts[op.attrs["weight"]]
            old = g.consts[op.attrs["mask"]].astype(bool) if "mask" in op.attrs else np.ones(w.shape, bool)
            keep = old & (rng.random(w.shape) < rate / max(old.mean(), 1e-9))
            op.attrs["mask"] = g.add_const(g.fresh(f"{op.attrs['weight']}_mask"), keep.astype(w.dtype))
    return g


def flash(model, report: dict, tgt) -> list[str]:
    """Lines: for the 1..3 largest binary layers, the highest tried rate that fits (verified)."""
    graph = frontend.load(model)
    layers = [(r["weight_bytes"], r["name"], r) for r in report["layers"] if OPS[r["op"]].sparse_kernels]
    layers.sort(key=lambda t: -t[0])
    budget = report["budget"]["flash_bytes"]
    for n in range(1, min(MAX_LAYERS, len(layers)) + 1):
        names = [name for _, name, _ in layers[:n]]
        for rate in RATES:
            rep = _analyse(_sparsify(graph, names, rate), tgt)
            if rep["memory"]["flash_bytes"] <= budget:
                what = ", ".join(f"'{r['name']}' ({r['op']} {'x'.join(map(str, r['input_shape']))} -> "
                                 f"{'x'.join(map(str, r['output_shape']))}, {r['weight_bytes']} B)" for _, _, r in layers[:n])
                return [f"flash: a connection rate of {rate:.0%} (of all weights) in {what}: flash {rep['memory']['flash_bytes']} B "
                        f"of {budget} B (re-analysed with a random mask at that rate; retrain it sparse, "
                        f"e.g. examples/train_sbnn.py)"]
    return ["flash: sparsifying the three largest binary layers to 2 % is not enough: shrink the network "
            "(see `edgebnn design`)"]


def sram(report: dict) -> list[str]:
    m, b = report["memory"], report["budget"]
    room = b["sram_bytes"] - (m["sram_bytes"] - m["arena_bytes"])
    if room <= 0:
        return [f"SRAM: the float input/output buffers, stack and statics alone take "
                f"{m['sram_bytes'] - m['arena_bytes']} B of {b['sram_bytes']} B: feed a smaller input"]
    out = []
    for r in report["layers"]:
        if r["live_bytes"] > room and r["output_shape"]:
            c = int(r["output_shape"][-1])
            new = max(1, int(c * room / r["live_bytes"]))
            out.append(f"SRAM: '{r['name']}' ({r['op']}) has {r['live_bytes']} B live with {room} B left for the "
                       f"arena: {c} -> {new} output channels (or stride/pool earlier), by the plan's live bytes")
    return out[:MAX_LAYERS] or [f"SRAM: the arena is {m['arena_bytes'] - m['lower_bound_bytes']} B above its lower "
                                f"bound: see `edgebnn plan`"]


def suggestions(model, report: dict) -> list[str]:
    tgt = targets.get(report["target"]).with_budget(report["budget"]["sram_bytes"], report["budget"]["flash_bytes"])
    lines = []
    if not report["budget"]["sram_fits"]:
        lines += sram(report)
    if not report["budget"]["flash_fits"]:
        lines += flash(model, report, tgt)
    return lines
