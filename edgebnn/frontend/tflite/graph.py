"""A TFLite graph as the ONNX graph tf2onnx would write for it, which the ONNX frontend (and
its Builder) turns into IR.

Values keep TFLite's NHWC layout; a window op reads an NCHW ``Transpose`` of its input and
its output is transposed back, the pairs tf2onnx writes and the ONNX frontend cancels. LCE's
bit-packed tensors become ±1 float tensors of their logical (unpacked) shape, which the
frontend recognises as binary activations and packs again in edgebnn's (identical) layout.
"""
from __future__ import annotations

import onnx
from onnx import TensorProto, helper, numpy_helper

from ...errors import EdgebnnError
from .. import limits
from . import builtins, lce
from .convert import OPSET, Lowering
from .reader import Model

# Element types that mean a quantized model (an int8/uint8/int16 activation or weight).
QUANTIZED = {3: "uint8", 7: "int16", 9: "int8"}


def to_onnx(model: Model) -> onnx.ModelProto:
    low = Lowering(model)
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise EdgebnnError(f"the TFLite model has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
                           "edgebnn compiles single-input, single-output models")
    check_quantized(model)
    x = model.tensors[model.inputs[0]]
    if x.type != 0:
        raise EdgebnnError(f"input '{limits.printable(x.name)}' is {x.type_name}; edgebnn models take float32 input")
    if not x.shape or x.shape[0] != 1:
        raise EdgebnnError(f"input '{limits.printable(x.name)}' has shape {list(x.shape)}; edgebnn compiles a "
                           "batch of 1 (batch axis first)")
    for op in live_ops(model):
        handler = lce.HANDLERS.get(op.opcode) if op.custom else builtins.HANDLERS.get(op.opcode)
        if handler is None:
            raise EdgebnnError(f"unsupported {'custom ' if op.custom else ''}TFLite op {op.opcode}; edgebnn compiles "
                               "binary networks from plain TFLite and Larq Compute Engine files", low.where(op))
        try:
            handler(low, op)
        except (ValueError, IndexError, KeyError, TypeError, OverflowError) as exc:
            raise EdgebnnError(f"{op.opcode} has inputs or options that do not agree ({type(exc).__name__}); "
                               "the file may be corrupt: convert it again", low.where(op)) from None
    y = model.outputs[0]
    if low.is_const(y):
        raise EdgebnnError("the graph output does not depend on the input")
    if model.tensors[y].type != 0:  # e.g. LCE bit-packed words
        raise EdgebnnError(f"output '{limits.printable(model.tensors[y].name)}' is {model.tensors[y].type_name}; "
                           "edgebnn models give float32 output (end an LCE model with LceDequantize)")
    graph = helper.make_graph(
        low.nodes, model.name or "model",
        [helper.make_tensor_value_info(low.value(x.index), TensorProto.FLOAT, list(x.shape))],
        [helper.make_tensor_value_info(low.value(y), TensorProto.FLOAT, list(low.shape(y)))],
        [numpy_helper.from_array(v, k) for k, v in low.inits.items()],
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="edgebnn-tflite")
    proto.ir_version = 8
    return proto


def live_ops(model: Model) -> list:
    """The ops the output depends on, in the file's (execution) order."""
    needed, keep = set(model.outputs), []
    for op in reversed(model.ops):
        if any(t in needed for t in op.outputs):
            keep.append(op)
            needed.update(t for t in op.inputs if t >= 0)
    return keep[::-1]


def check_quantized(model: Model) -> None:
    """A quantized (int8) model: one line naming its first non-binary op."""
    for op in model.ops:
        if op.opcode in ("QUANTIZE", "DEQUANTIZE") and not _float16_weight(model, op):
            what = "quantizes a float tensor" if op.opcode == "QUANTIZE" else "dequantizes an integer tensor"
        else:
            types = {model.tensors[t].type for t in op.inputs + op.outputs if t >= 0}
            bad = sorted(QUANTIZED[t] for t in types if t in QUANTIZED)
            if not bad:
                continue
            what = f"computes on {bad[0]} tensors"
        name = model.tensors[op.outputs[0]].name if op.outputs else str(op.index)
        raise EdgebnnError(f"the model is quantized: op {op.opcode} '{limits.printable(name)}' {what}, which is not "
                           "binary; edgebnn compiles binary networks: convert the float model (a plain TFLite "
                           "export or Larq Compute Engine's converter) without int8 quantization")


def _float16_weight(model: Model, op) -> bool:
    """A DEQUANTIZE of a float16 constant: a float model with half-precision weights."""
    if op.opcode != "DEQUANTIZE" or len(op.inputs) != 1 or op.inputs[0] < 0:
        return False
    t = model.tensors[op.inputs[0]]
    return t.type == 1 and t.data is not None
