"""What one candidate costs on a target: flash, SRAM and instructions per inference.

Flash and SRAM come from the real pipeline on the candidate's ONNX graph: the frontend and
passes (so each layer's weights are in the format the compiler picks, Huffman-coded masks
at their real size), the real memory planner and the real C renderer.  Only the
cross-compilation is shared: the code bytes, stack and non-weight constants of the emitted C
depend on which kernels the layers call, not on their widths, so one measured build per
layer structure (the kernels model.c calls) serves every candidate with that structure;
weights and arena are the candidate's own.  Instructions: costmodel.py.
"""
from __future__ import annotations

import re

from .. import codegen, compiler, planner, targets
from .. import report as reports
from ..codegen import sizes
from ..report import budget
from ..version import __version__
from . import arch as archs
from . import costmodel, onnxgen

_measured: dict = {}


def _structure(files: dict) -> tuple:
    """The kernels the model calls, in order, and the sources it ships: the code and the
    stack depend on these (the optimised or the portable kernel of a layer depends on its
    widths, so op kinds alone do not say which)."""
    return tuple(re.findall(r"\b(ebnn_\w+)\(", files["model.c"])), tuple(sorted(files))


def _sizes(graph, plan, files, layer_bytes, tgt) -> dict:
    """sizes.measure() of this candidate, from the first measured build of its structure."""
    key = (tgt.cc, tgt.cflags, _structure(files))
    if key not in _measured:
        _measured[key] = (sizes.measure(files, tgt), sum(layer_bytes), plan.arena_bytes)
    sized, weights, arena = _measured[key]
    sized = dict(sized)
    if sized["source"] == "measured":
        sized["rodata"] += sum(layer_bytes) - weights
        sized["bss"] += budget.static_arena_bytes(plan.arena_bytes) - budget.static_arena_bytes(arena)
    return sized


def core(tgt) -> str:
    return tgt.alias_of or tgt.name


def estimate(arch: dict, target, seed: int = 0, instructions: bool = True) -> dict:
    """The candidate's figures (bytes; instructions under QEMU -icount, not cycles)."""
    tgt = targets.get(target)
    graph = compiler.lowered(onnxgen.build(arch, seed))
    plan = planner.plan(graph)
    files, layer_bytes = codegen.render(graph, plan, __version__)
    rep = reports.build(graph, plan, tgt, layer_bytes, _sizes(graph, plan, files, layer_bytes, tgt))
    m = rep["memory"]
    per_layer = costmodel.predict(graph, core(tgt)) if instructions else None
    return {
        "label": archs.label(arch),
        "arch": arch,
        "params": sum(archs.weights(arch)),
        "connections": archs.connections(arch),
        "macs": archs.macs(arch),
        "flash_bytes": m["flash_bytes"],
        "weight_bytes": m["weight_bytes"],
        "sram_bytes": m["sram_bytes"],
        "arena_bytes": m["arena_bytes"],
        "formats": sorted({r["format"] for r in rep["layers"] if r["format"] not in ("-",)}),
        "instructions": sum(per_layer) if per_layer is not None else None,
        "per_layer_instructions": per_layer,
    }
