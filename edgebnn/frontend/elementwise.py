"""Element-wise ops of two computed tensors: a residual ``Add``, ``Sub``, a ``Mul`` gate,
``Div``, ``Max``/``Min``, with NumPy broadcasting of a per-channel (1, C, 1, 1) or (1, C)
operand, or one along the last axis (1, 1, 1, C) (NHWC graphs).  Both operands are made float
tensors in one layout (NHWC for 4-D activations) and one ``ewise`` op combines them."""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError
from . import layout
from .values import Real

# ONNX op -> (ewise op, the op with the operands swapped)
OPS = {"Add": ("add", "add"), "Sub": ("sub", "rsub"), "Mul": ("mul", "mul"), "Div": ("div", "rdiv"),
       "Max": ("max", "max"), "Min": ("min", "min")}


def combine(ctx, node, a, b) -> Real:
    """``a op b`` of two non-constant values."""
    op, swapped = OPS[node.op_type]
    if _size(b.shape) > _size(a.shape):
        a, b, op = b, a, swapped
    shape, small = tuple(a.shape), tuple(b.shape)
    per_channel = len(shape) >= 2 and small == (1, shape[1]) + (1,) * (len(shape) - 2)
    per_last = len(shape) >= 2 and small == (1,) * (len(shape) - 1) + (shape[-1],)  # NHWC graphs (tf2onnx)
    if small != shape and not per_channel and not per_last:
        raise EdgebnnError(f"{node.op_type} of shapes {list(shape)} and {list(small)}: edgebnn combines tensors of "
                           "one shape, or an activation and one value per channel", node.name)
    bld = ctx.builder
    if len(shape) == 4 and not (per_last and not per_channel):
        x = bld.to_hwc_real(a, node.name)
        y = bld.to_hwc_real(b, node.name) if small == shape else bld.logical(b, node.name)
        out = bld.emit("ewise", node.name, [x.tensor, y.tensor], op=op)
        return Real(out, shape, idx=layout.hwc_index(*shape[1:]))
    x, y = bld.logical(a, node.name), bld.logical(b, node.name)
    return Real(bld.emit("ewise", node.name, [x.tensor, y.tensor], op=op), shape)


def _size(shape) -> int:
    return int(np.prod(shape))


def softmax(ctx, node, value) -> Real:
    """Softmax / LogSoftmax over the last axis (opset 13), or over the flattened axes from
    ``axis`` on (opset < 13): rows of ``n`` values in logical order."""
    shape = tuple(value.shape)
    rank = len(shape)
    axis = int(ctx.attr(node, "axis", -1 if ctx.opset >= 13 else 1))
    axis = axis + rank if axis < 0 else axis
    if not 1 <= axis < rank or (ctx.opset >= 13 and axis != rank - 1):
        raise EdgebnnError(f"{node.op_type} over axis {axis} of a tensor of shape {list(shape)}: edgebnn takes "
                           "the last axis (not the batch axis)", node.name)
    x = ctx.builder.logical(value, node.name)
    out = ctx.builder.emit("softmax", node.name, [x.tensor], n=_size(shape[axis:]), log=node.op_type == "LogSoftmax")
    return Real(out, shape)
