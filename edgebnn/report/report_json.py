"""report.json: what each layer costs and where everything lives (DESIGN.md, Contracts)."""
from __future__ import annotations

from . import budget as budgets
from ..ir import Graph
from ..ir.ops import OPS
from ..planner import Plan
from ..targets import Target

def layer_rows(graph: Graph, plan: Plan, layer_bytes: list[int]) -> list[dict]:
    rows = []
    for op, nbytes in zip(graph.ops, layer_bytes):
        r = OPS[op.kind].report(graph, op)
        out = op.outputs[0]
        rows.append({
            "name": op.name,
            "op": op.kind,
            "input_shape": list(graph.tensors[op.inputs[0]].shape),
            "output_shape": list(graph.tensors[out].shape),
            "binary_macs": r["binary_macs"],
            "real_macs": r["real_macs"],
            "weights": r["weights"],
            "weight_bits": r["weight_bits"],
            "weight_bytes": nbytes,
            "bits_per_weight": round(8 * r["stored_bytes"] / r["weights"], 4) if r["weights"] else None,
            "format": r["format"],
            "arena_offset": plan.offsets.get(out),
            "arena_bytes": plan.sizes.get(out, 0),
            "live_bytes": plan.live_bytes(len(rows)),
            "in_place": any(i == len(rows) for i, _, _ in plan.in_place),
            "epilogues": [e.kind for e in op.epilogues],
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
        "input": dict(graph.input_quant) or {"type": "float32"},
        "output_shape": list(graph.output_shape),
        "batch": {"exported": graph.batch, "compiled": 1,
                  "note": "one sample per model_run; the exported static batch is the caller's loop"
                  if graph.batch > 1 else "one sample per model_run"},
        "layers": layers,
        "totals": {
            "binary_macs": sum(r["binary_macs"] for r in layers),
            "real_macs": sum(r["real_macs"] for r in layers),
        },
        "memory": memory,
        "budget": budgets.budget(memory, target),
    }
