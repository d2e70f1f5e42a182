"""The intermediate representation: typed tensors and the ops between them.

Shapes are physical and per inference (no batch axis).  The last axis is the
channel axis: dense activations are ``(n,)``, convolutional ones ``(H, W, C)``
(NHWC inside, whatever the ONNX layout).  dtypes:

- ``f32``   float32 values
- ``i32``   int32 binary accumulators ``dot = K - 2 * mismatches``; ``fanin`` is K
- ``bits``  ±1 values packed 32 per uint32 word along the channel axis, each
            row (pixel) padded to whole words with 0 bits (= +1); bit 1 = -1
- ``u8`` / ``i8``  integer codes of the graph input (passes/int_input.py)

Per-element constants in op attributes are flat float32/int32 arrays in the
physical order of the tensor they act on.  Each op kind (``Op.kind``) is one module of
``ir/ops/``, which says what its attributes mean.  An op reads any number of tensors
and a tensor may have any number of readers; ops run in list order.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DTYPES = ("f32", "i32", "bits", "u8", "i8")


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
        if self.dtype in ("u8", "i8"):
            return self.size
        return 4 * (self.words if self.dtype == "bits" else self.size)


@dataclass
class Op:
    kind: str
    name: str
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)
    # Ops computed by this op's kernel on its result before it stores anything
    # (passes/fusion.py); ``outputs[0]`` is then the last epilogue's output.
    epilogues: list[Op] = field(default_factory=list)

    @property
    def result(self) -> str:
        """The tensor the op's own computation makes: its output, or with epilogues the
        first epilogue's input, which lives only in the kernel's registers."""
        return self.epilogues[0].inputs[0] if self.epilogues else self.outputs[0]

    @property
    def label(self) -> str:
        """The kind and its epilogues, as the report and the C comments show them."""
        return "+".join([self.kind] + [e.kind for e in self.epilogues])


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
    batch: int = 1  # the exported model's static batch (one sample is compiled)
    input_quant: dict = field(default_factory=dict)  # integer input: type, scale, zero_point (passes/int_input.py)
    least_sram: bool = False  # kernels without list scratch (the SRAM budget asked for them: compiler.analyse)

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
