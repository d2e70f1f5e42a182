"""report.json: what each layer costs and where everything lives (DESIGN.md, Contracts)."""
from __future__ import annotations

import numpy as np

from .ir import Graph, Op
from .planner import Plan
from .targets import Target

# Stack of model_run: the call chain is two frames of a few registers each.
STACK_ESTIMATE_BYTES = 256
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
        array = graph.consts[op.attrs["weight"]].nbytes if op.kind in FORMAT else 0
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
            "format": FORMAT.get(op.kind, "-"),
            "arena_offset": plan.offsets.get(out),
            "arena_bytes": plan.sizes.get(out, 0),
        })
    return rows


def build(graph: Graph, plan: Plan, target: Target, layer_bytes: list[int], code: tuple[int, str]) -> dict:
    layers = layer_rows(graph, plan, layer_bytes)
    weight_bytes = sum(layer_bytes)
    code_bytes, code_source = code
    sram = plan.arena_bytes + STACK_ESTIMATE_BYTES
    flash = weight_bytes + code_bytes
    return {
        "model": graph.source,
        "target": target.name,
        "input_shape": list(graph.input_shape),
        "output_shape": list(graph.output_shape),
        "layers": layers,
        "totals": {
            "binary_macs": sum(r["binary_macs"] for r in layers),
            "real_macs": sum(r["real_macs"] for r in layers),
        },
        "memory": {
            "arena_bytes": plan.arena_bytes,
            "lower_bound_bytes": plan.lower_bound_bytes,
            "no_reuse_bytes": plan.no_reuse_bytes,
            "stack_bytes": STACK_ESTIMATE_BYTES,
            "stack_source": "estimate",
            "sram_bytes": sram,
            "flash_bytes": flash,
            "weight_bytes": weight_bytes,
            "code_bytes": code_bytes,
            "code_source": code_source,
        },
        "budget": {
            "sram_bytes": target.sram_bytes,
            "flash_bytes": target.flash_bytes,
            "fits": sram <= target.sram_bytes and flash <= target.flash_bytes,
        },
    }
