"""Class labels as the model's output: ``ArgMax`` and ``TopK`` with k = 1 (FINN's dataflow
builds end in one) over the last axis, an int32 index per row (``model_output_t`` is then
``int32_t``)."""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError
from .ops import const, handles
from .values import Index


def _last_axis(ctx, node, value) -> int:
    rank = len(value.shape)
    axis = int(ctx.attr(node, "axis", -1 if node.op_type == "TopK" else 0))
    if (axis + rank if axis < 0 else axis) != rank - 1 or rank < 2:
        raise EdgebnnError(f"{node.op_type} over axis {axis} of a tensor of shape {list(value.shape)}: edgebnn "
                           "takes the last axis", node.name)
    return int(value.shape[-1])


def _index(ctx, node, value, keep: bool) -> Index:
    n = _last_axis(ctx, node, value)
    x = ctx.builder.logical(value, node.name)
    out = ctx.builder.emit("argmax", node.name, [x.tensor], n=n)
    shape = tuple(value.shape[:-1]) + ((1,) if keep else ())
    return Index(out, shape)


@handles("ArgMax")
def op_argmax(ctx, node, ins):
    if ctx.attr(node, "select_last_index", 0):
        raise EdgebnnError("ArgMax with select_last_index=1 is not supported", node.name)
    return [_index(ctx, node, ins[0], bool(ctx.attr(node, "keepdims", 1)))]


@handles("TopK")
def op_topk(ctx, node, ins):
    k = const(ins[1], node, "k").reshape(-1) if len(ins) > 1 else np.array([ctx.attr(node, "k", 1)])
    if int(k[0]) != 1 or not ctx.attr(node, "largest", 1):
        raise EdgebnnError(f"TopK with k={int(k[0])}: edgebnn takes k=1, largest (a class label)", node.name)
    return [None, _index(ctx, node, ins[0], True)]
