"""Size limits the frontend enforces before it allocates anything for a model.

A hostile or corrupt file can claim an input of 2^40 elements, pad a convolution by
2^31, or fold ``ConstantOfShape([2^20, 2^20])``.  No microcontroller holds a tensor of
more than ``MAX_ELEMENTS`` values (64 MiB of float32), so such a model is refused with
one clear line before numpy is asked for the memory.
"""
from __future__ import annotations

import math

from ..errors import EdgebnnError

MAX_ELEMENTS = 1 << 24


def elements(shape) -> int:
    """The number of elements of ``shape``, in Python integers (no int64 overflow)."""
    return math.prod(int(d) for d in shape)


def check_shape(shape, what: str, node: str | None = None) -> None:
    """Raise a clear error when ``shape`` has a negative dimension or too many elements."""
    dims = [int(d) for d in shape]
    if any(d < 0 for d in dims):
        raise EdgebnnError(f"{what} has a negative dimension {dims}; the file is corrupt: export it again", node)
    n = math.prod(dims)
    if n > MAX_ELEMENTS:
        raise EdgebnnError(
            f"{what} of shape {_dims(dims)} has {n} elements, more than the {MAX_ELEMENTS} edgebnn "
            "accepts for a microcontroller; check the model's shapes and attributes", node)


def _dims(dims: list[int]) -> str:
    text = str(dims)
    return text if len(text) <= 80 else text[:77] + "...]"


def printable(name: str, limit: int = 80) -> str:
    """A name from the file, safe to put in a one-line message."""
    clean = "".join(c if c.isprintable() else "?" for c in str(name))
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."
