"""Ops that cut and join activations: ``Slice`` (with steps) and ``Split`` are views of the
tensor they read (no copy, no op: the elements a reader takes are re-indexed); ``Concat``
and a constant ``Pad`` of the channel axis are one ``concat`` op."""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError
from . import layout
from .ops import const, handles
from .values import Const, Real


def _axis(axis: int, rank: int, node) -> int:
    a = axis + rank if axis < 0 else axis
    if not 1 <= a < rank:
        raise EdgebnnError(f"{node.op_type} along axis {axis} of a rank-{rank} tensor: edgebnn takes a non-batch "
                           "axis", node.name)
    return a


def view(ctx, node, value, index: tuple) -> Real:
    """``value[index]`` (a tuple of slices over the full shape, batch kept) as a view."""
    real = ctx.builder.as_real(value, node.name)
    shape = tuple(real.shape)
    picked = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)[index]
    if picked.size == 0 or picked.shape[0] != 1:
        raise EdgebnnError(f"{node.op_type} leaves {list(picked.shape)} of {list(shape)}: an empty result, or one "
                           "that cuts the batch axis", node.name)
    base = real.idx if real.idx is not None else layout.identity(int(np.prod(shape)))
    chain = tuple((op, np.ascontiguousarray(np.broadcast_to(c, shape[1:])[index[1:]])) for op, c in real.chain)
    return Real(real.tensor, picked.shape, chain, real.nonbinary_layer, np.ascontiguousarray(base[picked.reshape(-1)]))


@handles("Slice")
def op_slice(ctx, node, ins):
    value = ins[0]
    rank = len(value.shape)
    if ctx.opset < 10:
        starts, ends = ctx.attr(node, "starts"), ctx.attr(node, "ends")
        axes, steps = ctx.attr(node, "axes"), None
    else:
        starts, ends = (_ints(v, node, "starts and ends") for v in ins[1:3])
        axes = _ints(ins[3], node, "axes") if len(ins) > 3 and ins[3] is not None else None
        steps = _ints(ins[4], node, "steps") if len(ins) > 4 and ins[4] is not None else None
    axes = list(range(len(starts))) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    index = [slice(None)] * rank
    for a, s, e, st in zip(axes, starts, ends, steps):
        if int(st) == 0 or not -rank <= int(a) < rank:
            raise EdgebnnError(f"Slice with step {st} along axis {a} of a rank-{rank} tensor", node.name)
        index[int(a) % rank] = slice(int(s), int(e), int(st))
    return [view(ctx, node, value, tuple(index))]


def _ints(value, node, what: str) -> list[int]:
    values = np.asarray(const(value, node, what))
    if not np.issubdtype(values.dtype, np.integer) or values.size > 64:
        raise EdgebnnError(f"{node.op_type} {what} must be a short list of integers, got {values.size} "
                           f"{values.dtype} values", node.name)
    return [int(v) for v in values.reshape(-1)]


@handles("Split")
def op_split(ctx, node, ins):
    value = ins[0]
    rank = len(value.shape)
    axis = _axis(int(ctx.attr(node, "axis", 0)), rank, node)
    if len(ins) > 1 and ins[1] is not None:
        sizes = [int(v) for v in const(ins[1], node, "split").reshape(-1)]
    else:
        sizes = ctx.attr(node, "split") or [value.shape[axis] // len(node.output)] * len(node.output)
    if sum(sizes) != value.shape[axis]:
        raise EdgebnnError(f"Split sizes {sizes} do not add up to {value.shape[axis]}", node.name)
    outs, start = [], 0
    for size in sizes:
        index = [slice(None)] * rank
        index[axis] = slice(start, start + size)
        outs.append(view(ctx, node, value, tuple(index)))
        start += size
    return outs


@handles("Concat")
def op_concat(ctx, node, ins):
    if any(isinstance(v, Const) or v is None for v in ins):
        raise EdgebnnError("Concat of a constant and computed tensors is not supported", node.name)
    rank = len(ins[0].shape)
    axis = _axis(int(ctx.attr(node, "axis", 1)), rank, node)
    shapes = [tuple(v.shape) for v in ins]
    if any(len(s) != rank or s[:axis] + s[axis + 1:] != shapes[0][:axis] + shapes[0][axis + 1:] for s in shapes):
        raise EdgebnnError(f"Concat of shapes {[list(s) for s in shapes]} along axis {axis}", node.name)
    shape = shapes[0][:axis] + (sum(s[axis] for s in shapes),) + shapes[0][axis + 1:]
    if rank == 4 and axis == 1:
        return [channels(ctx, node, ins, [(i, s[1]) for i, s in enumerate(shapes)], shape, 0.0)]
    xs = [ctx.builder.logical(v, node.name) for v in ins]
    inner = [int(np.prod(s[axis:])) for s in shapes]
    out = ctx.builder.emit("concat", node.name, [x.tensor for x in xs], shape=(int(np.prod(shape)),),
                           outer=int(np.prod(shape[:axis])), parts=[(i, n) for i, n in enumerate(inner)], fill=0.0)
    return [Real(out, shape)]


def channels(ctx, node, values: list, parts: list, shape: tuple, fill: float) -> Real:
    """A channel concatenation (parts: (value index or -1 for ``fill``, channels)) of
    activations (1, C, H, W), in NHWC: H * W rows of channel blocks."""
    xs = [ctx.builder.to_hwc_real(v, node.name) for v in values]
    _, c, h, w = shape
    out = ctx.builder.emit("concat", node.name, [x.tensor for x in xs], shape=(h, w, c), outer=h * w,
                           parts=parts, fill=float(fill))
    return Real(out, shape, idx=layout.hwc_index(c, h, w))
