"""Which kernel variant the C runs: the optimised kernels (default) or the portable ones,
and the arena scratch the chosen kernels need (planned with the tensors)."""
from __future__ import annotations

from ..errors import EdgebnnError
from ..ir.weight_layouts import conv_t_list

VARIANTS = ("optimized", "reference")


def check_variant(kernels: str) -> str:
    if kernels not in VARIANTS:
        raise EdgebnnError(f"unknown kernels '{kernels}': use one of {', '.join(VARIANTS)}")
    return kernels


def reserve_scratch(graph, kernels: str = "optimized"):
    """Arena scratch (planner ``scratch_bytes``) for the lists of the transposed convolutions
    the optimised kernels will run; none with the portable kernels."""
    for op in graph.ops:
        n = conv_t_list(graph, op) if kernels == "optimized" else 0
        if n:
            op.attrs["scratch_bytes"] = 4 * n
        else:
            op.attrs.pop("scratch_bytes", None)
    return graph
