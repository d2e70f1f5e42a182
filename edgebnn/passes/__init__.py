"""Rewrites of the IR, each ``run(graph) -> graph``, in the order of ``lower`` below.  After
them the IR says exactly what the C does: which kernel runs each op and which ops are fused."""
from __future__ import annotations

import copy

from ..ir import Graph
from . import encoding, fusion, int_input, kernel_choice, packing, pool_bits, pool_chain, ranges, thresholds


def lower(graph: Graph, weights: str = "size", kernels: str = "optimized", inputs: tuple = ("float32",),
          fuse: bool = True, least_sram: bool = False) -> Graph:
    """A copy of the graph with every pass applied (the input is left as it was);
    ``weights``: "size" or "speed", how sparse layers' weights are stored (encoding.py);
    ``kernels``: "optimized" or "reference" (the portable kernels alone, kernel_choice.py);
    ``inputs``: (type, scale, zero point) of the input, "float32" or integer codes (int_input.py);
    ``fuse=False``: every op stores its output as the graph says (no pool moved behind its
    threshold, no epilogues), the baseline the README's SRAM comparison measures;
    ``least_sram``: kernels that keep no list scratch, slower (for a tight SRAM budget)."""
    kernel_choice.check_variant(kernels)
    out = copy.deepcopy(graph)
    out = int_input.run(out, *inputs)
    out = thresholds.run(out)
    out = packing.run(pool_bits.run(out) if fuse else out)
    out = encoding.run(out, weights)
    if fuse:
        if kernels == "optimized":  # a float max-pool's affine moved into its binarizer, for the fusion
            out = pool_chain.run(out)
        out = fusion.run(out, kernels)
    out.least_sram = least_sram
    out = kernel_choice.run(out, kernels)
    # ranges last: it proves the integers of the final graph fit the C's types (it changes nothing)
    return ranges.run(out)
