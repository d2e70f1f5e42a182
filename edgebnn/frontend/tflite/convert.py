"""The state of one lowering of a TFLite graph to ONNX nodes (graph.py): values,
initializers, NCHW transposes, fused activations, SAME/VALID padding."""
from __future__ import annotations

import math

import numpy as np
from onnx import helper

from ...errors import EdgebnnError
from . import options
from .reader import Model

OPSET = 13
TO_NCHW, TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


class Lowering:
    """Collects ONNX nodes and initializers for one TFLite subgraph."""

    def __init__(self, model: Model):
        self.model = model
        self.nodes: list = []
        self.inits: dict = {}
        self.shapes: dict = {}  # tensor index -> logical shape (LCE packed tensors unpacked)
        self.nchw: dict = {}  # tensor index -> the ONNX name of its NCHW transpose
        self.names: set = set()
        self.count = 0
        self.folded: dict = {}  # tensor index -> a constant computed here (a float16 DEQUANTIZE)
        self.space_to_batch: dict = {}  # SPACE_TO_BATCH_ND output -> (input, block, pads)
        self.dilated: set = set()  # outputs of convolutions that read a SPACE_TO_BATCH_ND
        self.nchw_only: set = set()  # padded tensors only a window op may read

    # -- values ---------------------------------------------------------------------
    @staticmethod
    def value(t: int) -> str:
        return f"v{t}"

    def tensor(self, t: int):
        return self.model.tensors[t]

    def is_const(self, t: int) -> bool:
        return t in self.folded or (t >= 0 and self.model.tensors[t].data is not None)

    def const(self, t: int, op, what: str) -> np.ndarray:
        if t < 0 or not self.is_const(t):
            raise EdgebnnError(f"{op.opcode} needs {what} to be a constant", self.where(op))
        return self.folded[t] if t in self.folded else self.model.tensors[t].data

    def shape(self, t: int) -> tuple:
        return self.shapes.get(t, self.tensor(t).shape)

    def input(self, t: int, op) -> str:
        """The ONNX name of input tensor ``t`` (constants become initializers)."""
        if t < 0:
            raise EdgebnnError(f"{op.opcode} is missing a required input", self.where(op))
        if t in self.nchw_only:
            raise EdgebnnError(f"{op.opcode} reads a tensor padded along one spatial axis; edgebnn takes such "
                               "a PAD before a convolution or pooling only", self.where(op))
        if self.is_const(t):
            data = self.const(t, op, "")
            return self.init(data.astype(np.float32) if np.issubdtype(data.dtype, np.floating) else data, f"c{t}")
        return self.value(t)

    def to_nchw(self, t: int, op) -> str:
        if t not in self.nchw:
            if len(self.shape(t)) != 4:
                raise EdgebnnError(f"{op.opcode} needs a 4-D NHWC input, got shape {list(self.shape(t))}",
                                   self.where(op))
            self.nchw[t] = self.node("Transpose", [self.input(t, op)], op, perm=TO_NCHW)
        return self.nchw[t]

    # -- emission -------------------------------------------------------------------
    def where(self, op) -> str:
        t = op.outputs[0] if op.outputs and op.outputs[0] >= 0 else None
        return self.tensor(t).name if t is not None else f"{op.opcode} {op.index}"

    def init(self, array: np.ndarray, hint: str) -> str:
        name = f"{hint}_{len(self.inits)}"
        self.inits[name] = np.ascontiguousarray(array)
        return name

    def node(self, op_type: str, inputs: list, op, out: str | None = None, **attrs) -> str:
        out = out or f"n{self.count}"
        self.count += 1
        name = self.where(op)
        if name in self.names:
            name = f"{name}_{self.count}"
        self.names.add(name)
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    def activation(self, x: str, code: int, op, out: str | None = None) -> str:
        """A fused activation after ``x``."""
        act = options.activation(code, self.where(op))
        if act is None:
            return self.node("Identity", [x], op, out) if out else x
        if act == "RELU":
            return self.node("Relu", [x], op, out)
        lo, hi = (-1.0, 1.0) if act == "RELU_N1_TO_1" else (0.0, 6.0)
        return self.node("Clip", [x, self.init(np.float32(lo), "lo"), self.init(np.float32(hi), "hi")], op, out)

    # -- window geometry ----------------------------------------------------------------
    @staticmethod
    def pads(padding: int, in_hw, kernel, stride, dilation, op, where: str) -> list:
        """ONNX pads (top, left, bottom, right) of TFLite SAME / VALID padding."""
        if min(*kernel, *stride, *dilation) < 1:
            raise EdgebnnError(f"{op.opcode} has a kernel, stride or dilation below 1", where)
        if padding == options.VALID:
            return [0, 0, 0, 0]
        if padding != options.SAME:
            raise EdgebnnError(f"{op.opcode} has padding {padding}, neither SAME nor VALID", where)
        before, after = [], []
        for n, k, s, d in zip(in_hw, kernel, stride, dilation):
            out = math.ceil(n / s)
            total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            before.append(total // 2)
            after.append(total - total // 2)
        return before + after
