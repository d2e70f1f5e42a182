"""Which kernel runs each op: the first of its variants (ir/ops/) that fits the op, among the
optimised and portable kernels (``kernels="optimized"``, the default) or the portable ones
alone (``"reference"``), and the arena scratch it needs (planned with the tensors).

After this pass ``op.attrs["c_kernel"]`` names the variant codegen emits."""
from __future__ import annotations

from ..errors import EdgebnnError
from ..ir import Graph
from ..ir.ops import OPS

VARIANTS = ("optimized", "reference")


def check_variant(kernels: str) -> str:
    if kernels not in VARIANTS:
        raise EdgebnnError(f"unknown kernels '{kernels}': use one of {', '.join(VARIANTS)}")
    return kernels


def run(graph: Graph, kernels: str = "optimized") -> Graph:
    optimized = check_variant(kernels) == "optimized"
    for op in graph.ops:
        kind = OPS[op.kind]
        op.attrs["c_kernel"] = kind.choose(graph, op, optimized).name
        scratch = kind.scratch_bytes(graph, op)
        if scratch:
            op.attrs["scratch_bytes"] = scratch
        else:
            op.attrs.pop("scratch_bytes", None)
    return graph
