"""What every op kind answers: the interface the stages ask instead of switching on kinds.

An op kind is one small class (one module per kind, registered in ``ops/__init__.py``):

- ``infer``       its output tensor (dtype, shape, fan-in) from its inputs and attributes;
- ``reference``   the numpy kernel: what the op computes, batched, on the physical layout;
- ``kernels``     its C kernel variants, best first (``Kernel``); ``applies`` says which fit an
                  op (``passes.kernel_choice`` writes the first in ``op.attrs["c_kernel"]``), and
                  ``c_call`` the call of the chosen one, emitting the constants it reads
                  through the emitter (which counts their flash bytes);
- ``sources``     the runtime_c files the chosen kernel needs;
- ``in_place``    whether its kernels may write the output over the first input;
- ``report``      its fields of the report's layer row (MACs, weights, weight format);
- ``cost_group`` / ``cost_features``  the kernel and the work counts of the design
                  assistant's instruction model;
- ``epilogue_args``  for an op a producer's kernel can compute (an epilogue): the arguments
                  that fused kernel takes for it.

Ops take any number of inputs (``op.inputs``) and a tensor may have any number of readers;
the planner keeps a tensor until its last reader.  An op may carry epilogues (``op.epilogues``,
attached by ``passes.fusion``): ops whose input its kernel hands over in registers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..graph import Graph, Op

PORTABLE = "portable"


@dataclass(frozen=True)
class Kernel:
    """One C kernel variant of an op kind."""

    name: str
    optimized: bool = False  # an optimised kernel (runtime_c/ebnn_opt*.c): chosen unless kernels="reference"
    epilogues: tuple = ()  # kinds of the epilogues it computes on its result before storing
    plain: bool = True  # whether it also runs without an epilogue


class OpKind:
    kind = ""
    # Every kernel reads element i just before writing element i and touches no other, so
    # the output may overwrite input 0 (not ebnn_threshold / ebnn_binarize_f32: they zero
    # whole output words first).  Re-check when a kernel of the op changes.
    in_place = False
    binary_weights = False  # ±1 weights packed to bits (passes.packing, passes.encoding)
    sparse_kernels = False  # takes a connection mask: sparse weight formats (passes.encoding)
    kernels: tuple = (Kernel(PORTABLE),)
    source = ""  # the runtime_c file of the portable kernel

    # -- the IR ---------------------------------------------------------------------------
    def infer(self, graph: Graph, inputs: list[str], attrs: dict) -> tuple[str, tuple, int]:
        """(dtype, shape, fan-in) of the output tensor."""
        raise NotImplementedError

    def reference(self, graph: Graph, op: Op, *xs: np.ndarray) -> np.ndarray:
        """The output, (batch, elements) (uint32 words for bits), from the inputs likewise."""
        raise NotImplementedError

    def pack(self, op: Op, flags: np.ndarray) -> np.ndarray:
        """Booleans laid out like the op's logical weights -> uint32 words (binary weights only)."""
        raise NotImplementedError

    # -- kernels ----------------------------------------------------------------------------
    def applies(self, graph: Graph, op: Op, kernel: Kernel) -> bool:
        """Whether ``kernel`` can run this op."""
        return True

    def choose(self, graph: Graph, op: Op, optimized: bool) -> Kernel:
        """The first variant allowed that runs op and its epilogues."""
        for k in self.kernels:
            if self._runs(graph, op, k, op.epilogues, optimized):
                return k
        raise ValueError(f"no kernel runs {op.kind} layer '{op.name}'")  # pragma: no cover

    def absorbs(self, graph: Graph, op: Op, epilogue: Op, optimized: bool) -> bool:
        """Whether a variant allowed can also compute ``epilogue`` on this op's result."""
        return any(self._runs(graph, op, k, op.epilogues + [epilogue], optimized) for k in self.kernels)

    def _runs(self, graph: Graph, op: Op, kernel: Kernel, epilogues: list[Op], optimized: bool) -> bool:
        """Whether ``kernel`` is allowed, computes these epilogues (or runs plain) and fits op."""
        takes = {e.kind for e in epilogues} <= set(kernel.epilogues) if epilogues else kernel.plain
        return (optimized or not kernel.optimized) and takes and self.applies(graph, op, kernel)

    def variant(self, op: Op) -> Kernel:
        """The kernel variant chosen for op (``passes.kernel_choice``)."""
        return next(k for k in self.kernels if k.name == op.attrs["c_kernel"])

    def scratch_bytes(self, graph: Graph, op: Op) -> int:
        """Arena bytes the chosen kernel needs for this op alone (planned with the tensors)."""
        return 0

    def c_call(self, em, op: Op) -> str:
        """The C call of the op's chosen kernel (``op.attrs["c_kernel"]``), through the emitter
        ``em`` (codegen/emitter.py) for its constants and pointers."""
        raise NotImplementedError

    def epilogue_args(self, em, op: Op) -> tuple[str, ...]:
        """As an epilogue: the arguments the fused kernel of its producer takes for it."""
        raise NotImplementedError

    def sources(self, graph: Graph, op: Op) -> tuple[str, ...]:
        """runtime_c files the op's kernel needs (headers included in model.c besides ebnn_kernels.h)."""
        return (self.source,)

    # -- report and cost model ------------------------------------------------------------
    def report(self, graph: Graph, op: Op) -> dict:
        return {"binary_macs": 0, "real_macs": 0, "weights": 0, "weight_bits": 0, "format": "-",
                "stored_bytes": 0}

    def cost_group(self, graph: Graph, op: Op) -> str:
        return op.kind

    def cost_features(self, graph: Graph, op: Op) -> list:
        """Work counts of an element-wise kernel: rows, elements, float steps per element."""
        out = graph.tensors[op.result]
        steps = len(op.attrs.get("chain") or ())  # soft float on M0+/M3
        return [1, out.rows, out.size, out.size * steps]


def same_shape(graph: Graph, inputs: list[str], dtype: str) -> tuple[str, tuple, int]:
    """The output of an element-wise op: ``dtype``, shaped like the first input."""
    return dtype, graph.tensors[inputs[0]].shape, 0
