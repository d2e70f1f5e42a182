"""Instructions per inference from a per-layer linear model calibrated on QEMU counts.

Each lowered op gets a few work counts (features) that its kernel's loops scale with --
rows, output elements, weight words visited, non-zero mask words, connections, taps inside
the image -- and its instructions are a non-negative combination of them, one set of
coefficients per target core and per kernel (op kind and weight format).  The coefficients
live in calibration.json, written by ``python -m edgebnn.design.calibrate`` from per-layer
QEMU -icount counts of random networks: when the kernels change, re-run that one command.
Counts are instructions under QEMU -icount, not cycles.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import EdgebnnError
from ..ir import Graph, Op
from ..ir.ops import OPS

CALIBRATION = Path(__file__).resolve().parent / "calibration.json"


def group(op: Op, graph: Graph) -> str:
    """The kernel an op runs: its kind (with its weight format, or the dtype it works on) and
    the C function codegen chose for it."""
    return f"{OPS[op.kind].cost_group(graph, op)}:{op.attrs.get('c_function', '?')}"


def features(graph: Graph, op: Op) -> list[float]:
    """The work counts of an op's kernel loops (see runtime_c/)."""
    return OPS[op.kind].cost_features(graph, op)


@lru_cache(maxsize=None)
def _load(path: str) -> dict:
    return json.loads(Path(path).read_text())


def coefficients(core: str, path: Path = CALIBRATION) -> dict:
    data = _load(str(path)) if Path(path).is_file() else {}
    if core not in data.get("cores", {}):
        raise EdgebnnError(f"no instruction calibration for '{core}' in {Path(path).name}: "
                           f"run python -m edgebnn.design.calibrate --target {core}")
    return data["cores"][core]


def predict(graph: Graph, core: str, coefs: dict | None = None) -> list[int]:
    """Predicted instructions of every op (QEMU -icount instructions, not cycles)."""
    coefs = coefs if coefs is not None else coefficients(core)
    out = []
    for op in graph.ops:
        g = group(op, graph)
        f = features(graph, op)
        g = g if g in coefs["groups"] else _base(g)  # a C function the calibration never ran
        if g not in coefs["groups"] or len(coefs["groups"][g]) != len(f):
            raise EdgebnnError(f"the instruction model for {core} was not calibrated on '{g}' layers: "
                               f"re-run python -m edgebnn.design.calibrate --target {core}")
        out.append(int(round(float(np.dot(coefs["groups"][g], f)))))
    return out


def _base(g: str) -> str:
    """The group without its C function: every function of that op kind and format."""
    return g.rsplit(":", 1)[0]


def fit(rows: list[tuple[str, list[float], int]]) -> dict:
    """NNLS per group on relative error (small and large layers weigh alike)."""
    from scipy.optimize import nnls

    groups: dict = {}
    for g, f, y in rows:
        for key in (g, _base(g)):
            groups.setdefault(key, ([], []))
            if groups[key][0] and len(groups[key][0][0]) != len(f):
                continue  # a fall-back group keeps the functions with the same features
            groups[key][0].append(f)
            groups[key][1].append(y)
    coefs, errors = {}, {}
    for g, (fs, ys) in sorted(groups.items()):
        a, y = np.array(fs, float), np.array(ys, float)
        w = 1.0 / np.maximum(y, 50.0)
        scale = np.maximum(np.abs(a).max(axis=0), 1.0)  # columns on one scale for NNLS
        x, _ = nnls(a * w[:, None] / scale, y * w)
        coefs[g] = [float(v) for v in x / scale]
        pred = a @ np.array(coefs[g])
        errors[g] = {"layers": len(y), "max_relative_error": round(float(np.max(np.abs(pred - y) / np.maximum(y, 1))), 4)}
    return {"groups": coefs, "fit": errors}
