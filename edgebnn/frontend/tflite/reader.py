"""Reading a .tflite flatbuffer (the `tflite` schema package) into plain Python records.

The flatbuffers runtime does not verify a buffer: a corrupt file can raise anything while it
is read, so every read happens here, inside one guard, before the lowering sees a value.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import EdgebnnError
from .. import limits
from . import options

IDENT = b"TFL3"
# Schema element types (tflite.TensorType) and their numpy types.
DTYPES = {0: np.float32, 1: np.float16, 2: np.int32, 3: np.uint8, 4: np.int64, 6: np.bool_, 7: np.int16,
          9: np.int8, 10: np.float64}
TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool",
              7: "int16", 9: "int8", 10: "float64"}
CUSTOM = 32  # BuiltinOperator.CUSTOM


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple
    type: int
    data: np.ndarray | None  # a constant's value, else None
    quantized: bool

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.type, f"type {self.type}")


@dataclass
class Operator:
    index: int
    opcode: str  # the builtin operator's name (CONV_2D), or the custom op's (LceBconv2d)
    custom: bool
    inputs: list  # tensor indices, -1 for an omitted optional input
    outputs: list
    options: dict  # builtin options, or a custom op's flexbuffer map


@dataclass
class Model:
    name: str
    tensors: list
    ops: list
    inputs: list
    outputs: list
    version: int = 3
    extra: dict = field(default_factory=dict)


def is_tflite(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] == IDENT


def read(buf: bytes, name: str) -> Model:
    try:
        import tflite
    except ImportError:
        raise EdgebnnError("reading .tflite files needs the 'tflite' package: pip install tflite") from None
    try:
        model = tflite.Model.GetRootAsModel(buf, 0)
        return _model(tflite, model, buf, name)
    except EdgebnnError:
        raise
    except Exception as exc:  # noqa: BLE001 - a corrupt flatbuffer fails in many ways
        raise EdgebnnError(f"'{limits.printable(name)}' is not a readable TensorFlow Lite model "
                           f"({type(exc).__name__}); the file may be truncated or corrupt: convert it again") from None


def _model(tflite, model, buf: bytes, name: str) -> Model:
    if model.SubgraphsLength() == 0:
        raise EdgebnnError(f"the TensorFlow Lite model '{limits.printable(name)}' has no graph; the file may be "
                           "truncated or corrupt: convert it again")
    if model.SubgraphsLength() != 1:
        raise EdgebnnError(f"the TensorFlow Lite model has {model.SubgraphsLength()} subgraphs; edgebnn compiles "
                           "models of one subgraph (no control flow)")
    sg = model.Subgraphs(0)
    buffers = [model.Buffers(i) for i in range(model.BuffersLength())]
    tensors = [_tensor(sg.Tensors(i), i, buffers, buf) for i in range(sg.TensorsLength())]
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    codes = []
    for i in range(model.OperatorCodesLength()):
        oc = model.OperatorCodes(i)
        code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
        if code == CUSTOM:
            codes.append(((oc.CustomCode() or b"").decode("utf-8", "replace") or "an unnamed custom op", True))
        else:
            codes.append((names.get(code, f"builtin operator {code}"), False))
    ops = []
    for i in range(sg.OperatorsLength()):
        op = sg.Operators(i)
        k = op.OpcodeIndex()
        if not 0 <= k < len(codes):
            raise EdgebnnError(f"operator {i} names operator code {k} of {len(codes)}; the file is corrupt")
        ins, outs = _indices(op.InputsAsNumpy()), _indices(op.OutputsAsNumpy())
        for t in ins + outs:
            if not -1 <= t < len(tensors):
                raise EdgebnnError(f"operator {i} names tensor {t} of {len(tensors)}; the file is corrupt")
        opcode, custom = codes[k]
        if custom:
            opts = options.flex(bytes(op.CustomOptionsAsNumpy()) if op.CustomOptionsLength() else b"", opcode)
        else:
            opts = options.builtin(tflite, opcode, op.BuiltinOptions())
        ops.append(Operator(i, opcode, custom, ins, outs, opts))
    inputs, outputs = _indices(sg.InputsAsNumpy()), _indices(sg.OutputsAsNumpy())
    for t in inputs + outputs:
        if not 0 <= t < len(tensors):
            raise EdgebnnError(f"the graph names tensor {t} of {len(tensors)} as its input or output; "
                               "the file is corrupt")
    return Model(name, tensors, ops, inputs, outputs, int(model.Version()))


def _indices(arr) -> list:
    return [] if isinstance(arr, int) else [int(v) for v in arr]


def _tensor(t, index: int, buffers: list, buf: bytes) -> Tensor:
    raw = t.Name()
    name = raw.decode("utf-8", "replace") if raw else f"tensor{index}"
    shape = tuple(_indices(t.ShapeAsNumpy()))
    what = f"tensor '{limits.printable(name)}'"
    if any(d < 0 for d in shape):
        raise EdgebnnError(f"{what} has shape {list(shape)}; edgebnn compiles models with static shapes")
    limits.check_shape(shape, what)
    q = t.Quantization()
    quantized = q is not None and (q.ScaleLength() > 0 or q.ZeroPointLength() > 0)
    data = _data(t, buffers, buf, shape, what)
    return Tensor(index, name, shape, int(t.Type()), data, bool(quantized))


def _data(t, buffers: list, buf: bytes, shape: tuple, what: str):
    b = int(t.Buffer())
    if b <= 0 or b >= len(buffers):  # buffer 0 is the empty sentinel
        return None
    buffer = buffers[b]
    if buffer.Offset() > 1:  # a large model: the data after the flatbuffer
        raw = buf[buffer.Offset():buffer.Offset() + buffer.Size()]
    else:
        raw = buffer.DataAsNumpy()
        raw = b"" if isinstance(raw, int) else raw.tobytes()
    if not raw:
        return None
    dtype = DTYPES.get(int(t.Type()))
    if dtype is None:
        raise EdgebnnError(f"{what} holds constant data of {TYPE_NAMES.get(int(t.Type()), 'an unknown type')}; "
                           "edgebnn reads numeric constants only")
    n = limits.elements(shape)
    if len(raw) != n * np.dtype(dtype).itemsize:
        raise EdgebnnError(f"{what} of shape {list(shape)} holds {len(raw)} bytes of data; the file is corrupt")
    return np.frombuffer(raw, dtype).reshape(shape).copy()
