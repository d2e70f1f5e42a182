"""The intermediate representation: typed tensors and a small set of canonical ops.

Shapes are physical and per inference (no batch axis).  The last axis is the
channel axis: dense activations are ``(n,)``, convolutional ones ``(H, W, C)``
(NHWC inside, whatever the ONNX layout).  dtypes:

- ``f32``   float32 values
- ``i32``   int32 binary accumulators ``dot = K - 2 * mismatches``; ``fanin`` is K
- ``bits``  ±1 values packed 32 per uint32 word along the channel axis, each
            row (pixel) padded to whole words with 0 bits (= +1); bit 1 = -1

Per-element constants in op attributes are flat float32/int32 arrays in the
physical order of the tensor they act on.  Ops (``Op.kind``):

- ``binarize``   f32 -> bits: ``chain`` (float steps, see chain.py), then +1 where
                 ``chain(x) cmp t`` (``cmp`` ``ge``/``gt``), swapped when ``invert``.
- ``threshold``  i32 -> bits: as ``binarize`` before ``passes.thresholds``,
                 ``bit = (d < thr) ^ neg`` after it.
- ``affine``     i32/f32 -> f32 through ``chain``.
- ``bdense``     bits -> i32[N]; ``weight`` ±1 int8 (N, K) placed at ``slots`` of
                 the input row before ``passes.packing``, uint32 words after.
- ``dense_binw`` f32 -> f32[N] with ±1 weights (like bdense); ``dense`` f32 weights.
- ``bconv``      bits (H, W, Cin) -> i32 (Ho, Wo, Cout); ``conv`` f32 -> f32 (Ho, Wo, Cout),
                 reading its input through element ``strides`` (c, h, w).
- ``maxpool``    bits (AND), i32 (max, or min for channels in ``use_min``), f32.
- ``avgpool``    f32.
- ``unpack``     bits -> f32: ``hi`` where bit 0, ``lo`` where bit 1.
- ``gather``     f32 -> f32: ``out[i] = in[index[i]]`` (layout changes at the output).
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
    fanin: int = 0  # i32 accumulators: the largest number of ±1 terms summed

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def channels(self) -> int:
        return int(self.shape[-1]) if self.shape else 1

    @property
    def rows(self) -> int:
        return self.size // self.channels if self.channels else 0

    @property
    def words(self) -> int:
        """uint32 words of a bits tensor."""
        return self.rows * ((self.channels + 31) // 32)

    @property
    def nbytes(self) -> int:
        return 4 * (self.words if self.dtype == "bits" else self.size)


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

    def add_tensor(self, name: str, dtype: str, shape, fanin: int = 0) -> Tensor:
        assert dtype in DTYPES, dtype
        t = Tensor(name, dtype, tuple(int(s) for s in shape), int(fanin))
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
