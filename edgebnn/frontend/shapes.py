"""Shape arithmetic for the shape-only ops (Reshape, Flatten, Squeeze, Unsqueeze)."""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def reshape_target(shape, target, allowzero, node) -> list[int]:
    values = np.asarray(target).reshape(-1)
    if values.size > 64 or not np.issubdtype(values.dtype, np.integer):
        raise EdgebnnError(f"Reshape target of {values.size} {values.dtype} values is not a shape", node.name)
    target = [int(d) for d in values]
    out = [shape[i] if d == 0 and not allowzero and i < len(shape) else d for i, d in enumerate(target)]
    if out.count(-1) > 1 or any(d < -1 for d in out):
        raise EdgebnnError(f"Reshape target {target} is invalid", node.name)
    if -1 in out:
        known = _size([d for d in out if d != -1])
        if known == 0 or _size(shape) % known:
            raise EdgebnnError(f"Reshape of {list(shape)} to {target} is impossible", node.name)
        out[out.index(-1)] = _size(shape) // known
    if _size(out) != _size(shape):
        raise EdgebnnError(f"Reshape of {list(shape)} to {target} changes the number of elements", node.name)
    return out


def flatten_shape(shape, axis, node) -> list[int]:
    axis = axis + len(shape) if axis < 0 else axis
    if not 0 <= axis <= len(shape):
        raise EdgebnnError(f"Flatten axis {axis} is out of range for a tensor of rank {len(shape)}", node.name)
    return [_size(shape[:axis]), _size(shape[axis:])]


def _axes(axes, rank, node) -> list[int]:
    out = sorted(a + rank if a < 0 else a for a in axes)
    if any(a < 0 or a >= rank for a in out) or len(set(out)) != len(out):
        raise EdgebnnError(f"{node.op_type} axes {list(axes)} are out of range", node.name)
    return out


def squeeze_shape(shape, axes, node) -> list[int]:
    if axes is None:
        return [d for d in shape if d != 1]
    axes = _axes(axes, len(shape), node)
    if any(shape[a] != 1 for a in axes):
        raise EdgebnnError(f"Squeeze of axes {axes} whose size is not 1", node.name)
    return [d for i, d in enumerate(shape) if i not in axes]


def unsqueeze_shape(shape, axes, node) -> list[int]:
    if axes is None:
        raise EdgebnnError("Unsqueeze needs axes", node.name)
    rank = len(shape) + len(axes)
    axes = _axes(axes, rank, node)
    rest = iter(shape)
    return [1 if i in axes else next(rest) for i in range(rank)]
