"""report.json: what each layer costs and where everything lives (DESIGN.md, Contracts)."""
from __future__ import annotations

import numpy as np

from . import budget as budgets
from ..ir import Graph, Op
from ..passes import encoding
from ..planner import Plan
from ..targets import Target

FORMAT = {"bdense": "bits", "dense_binw": "bits", "dense": "float32", "bconv": "bits", "conv": "float32"}
BINARY = ("bdense", "bconv")


def _macs(graph: Graph, op: Op) -> tuple[int, int]:
    """(binary MACs, real MACs): output elements times the weights each one sums."""
    if op.kind not in FORMAT:
        return 0, 0
    out = graph.tensors[op.outputs[0]]
    if op.kind in ("bconv", "conv"):
        c = graph.tensors[op.inputs[0]].channels if op.kind == "bconv" else op.attrs["in_chw"][0]
        per_output = c * int(np.prod(op.attrs["kernel"]))
    else:
        per_output = op.attrs.get("k", graph.tensors[op.inputs[0]].size)
    macs = out.size * per_output
    return (macs, 0) if op.kind in BINARY else (0, macs)


def _weights(graph: Graph, op: Op) -> int:
    """Number of weights of the layer (0 for weightless ops)."""
    out = graph.tensors[op.outputs[0]]
    macs = sum(_macs(graph, op))
    return macs // out.rows if op.kind in ("bconv", "conv") else macs


def layer_rows(graph: Graph, plan: Plan, layer_bytes: list[int]) -> list[dict]:
    rows = []
    for op, nbytes in zip(graph.ops, layer_bytes):
        binary, real = _macs(graph, op)
        weights = _weights(graph, op)
        wbits = weights * (1 if op.kind in BINARY or op.kind == "dense_binw" else 32)
        out = op.outputs[0]
        array = encoding.weight_bytes(graph, op) if op.kind in FORMAT else 0
        rows.append({
            "name": op.name,
            "op": op.kind,
            "input_shape": list(graph.tensors[op.inputs[0]].shape),
            "output_shape": list(graph.tensors[out].shape),
            "binary_macs": binary,
            "real_macs": real,
            "weights": weights,
            "weight_bits": wbits,
            "weight_bytes": nbytes,
            "bits_per_weight": round(8 * array / weights, 4) if weights else None,
            "format": op.attrs.get("format", FORMAT.get(op.kind, "-")),
            "arena_offset": plan.offsets.get(out),
            "arena_bytes": plan.sizes.get(out, 0),
            "live_bytes": plan.live_bytes(len(rows)),
            "in_place": any(i == len(rows) for i, _, _ in plan.in_place),
        })
    return rows


def device(target: Target) -> dict:
    return {"name": target.name, "alias_of": target.alias_of or None, "core": target.core,
            "description": target.description, "cflags": list(target.cflags), "fpu": target.fpu,
            "dsp": target.dsp, "popcount": target.popcount, "clock_hz": target.clock_hz,
            "qemu_machine": target.qemu_machine or None}


def build(graph: Graph, plan: Plan, target: Target, layer_bytes: list[int], sized: dict) -> dict:
    """The report; ``sized`` is sizes.measure() of the emitted C on the target."""
    layers = layer_rows(graph, plan, layer_bytes)
    memory = budgets.memory(graph, plan, sum(layer_bytes), sized)
    return {
        "model": graph.source,
        "target": target.name,
        "device": device(target),
        "input_shape": list(graph.input_shape),
        "output_shape": list(graph.output_shape),
        "layers": layers,
        "totals": {
            "binary_macs": sum(r["binary_macs"] for r in layers),
            "real_macs": sum(r["real_macs"] for r in layers),
        },
        "memory": memory,
        "budget": budgets.budget(memory, target),
    }
