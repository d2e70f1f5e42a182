"""The intermediate representation: typed tensors and a small set of canonical ops.

Shapes are per inference (no batch axis).  Activations are flat vectors for dense
networks.  dtypes:

- ``f32``   float32 values
- ``i32``   int32 values (binary accumulators: ``dot = K - 2 * mismatches``)
- ``bits``  ±1 values packed 32 per uint32 word, bit 1 = -1 (DESIGN.md)

Ops (``Op.kind``) and their attributes; constants are named tensors in
``Graph.consts``:

- ``binarize``   f32 -> bits.  ``chain``: float ops applied first (see ``Chain``);
                 ``cmp`` (``ge``/``gt``) and ``t`` (per element): +1 when
                 ``chain(x) cmp t``; ``invert`` swaps +1 and -1.
- ``bdense``     bits[K] -> i32[N], ``weight`` const: ±1 int8 (N, K) before the
                 packing pass, uint32 (N, words) after.
- ``threshold``  i32 -> bits; after ``passes.thresholds``: bit = (d < thr) ^ neg.
                 Before it: ``chain``/``cmp``/``t``/``invert`` as ``binarize``.
- ``affine``     i32 or f32 -> f32 through ``chain``.
- ``dense``      f32[K] -> f32[N], ``weight`` f32 (N, K), optional ``bias``.
- ``dense_binw`` f32[K] -> f32[N], ``weight`` ±1 weights (packed like bdense).
- ``unpack``     bits -> f32: ``hi`` where bit 0, ``lo`` where bit 1.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DTYPES = ("f32", "i32", "bits")


@dataclass
class Tensor:
    name: str
    dtype: str
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        if self.dtype == "bits":
            return 4 * ((self.size + 31) // 32)
        return 4 * self.size


@dataclass
class Op:
    kind: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)


@dataclass
class Graph:
    """A compiled-network graph: ops in execution order over named tensors."""

    name: str
    tensors: dict[str, Tensor] = field(default_factory=dict)
    consts: dict[str, np.ndarray] = field(default_factory=dict)
    ops: list[Op] = field(default_factory=list)
    input: str = ""
    output: str = ""
    # Shapes of the ONNX input/output including the batch axis (batch 1).
    input_shape: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()
    source: str = ""

    def add_tensor(self, name: str, dtype: str, shape) -> Tensor:
        assert dtype in DTYPES, dtype
        t = Tensor(name, dtype, tuple(int(s) for s in shape))
        self.tensors[name] = t
        return t

    def add_const(self, name: str, value: np.ndarray) -> str:
        self.consts[name] = value
        return name

    def fresh(self, base: str) -> str:
        """A tensor or const name not used yet."""
        name, i = base, 1
        while name in self.tensors or name in self.consts:
            i += 1
            name = f"{base}_{i}"
        return name

    def producer(self, tensor: str) -> Op | None:
        for op in self.ops:
            if tensor in op.outputs:
                return op
        return None

    def consumers(self, tensor: str) -> list[Op]:
        return [op for op in self.ops if tensor in op.inputs]
