"""What the frontend knows about each ONNX value while it walks the graph.

ONNX spells a binarizer in many ways (Sign, Where(x>=0,1,-1), Cast(x>0)*2-1,
BipolarQuant, MultiThreshold...).  Rather than matching each spelling, the walk
tracks values symbolically: a comparison is a ``Pred``; anything that takes one
of two values depending on a ``Pred`` is a ``TwoLevel``; element-wise float ops on
a layer's output stay pending in a ``Real``'s chain.  Only when a value is used
(by a dense layer, or as the output) does the builder emit IR ops for it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import EdgebnnError

from ..ir import chain as chains


@dataclass
class Const:
    value: np.ndarray

    @property
    def shape(self):
        return tuple(self.value.shape)


def transposed_idx(idx, shape, perm, n):
    """The view's physical index after ``Transpose(perm)`` of a value of ``shape``."""
    base = np.arange(n, dtype=np.int64) if idx is None else idx
    return np.ascontiguousarray(base.reshape(shape).transpose(perm).reshape(-1))


@dataclass
class Real:
    """A view of an IR tensor (f32, or i32 accumulator) with a pending float chain.

    ``idx`` (None: identity) maps logical elements to physical ones (layout.py);
    chain constants are kept in logical order."""

    tensor: str
    shape: tuple  # full ONNX shape, batch axis first (1)
    chain: tuple = ()
    # The layer behind an accumulator whose weights were not binary: a binarizer
    # after it makes it a binary layer, which needs binary weights.
    nonbinary_layer: str | None = None
    idx: np.ndarray | None = None

    def reshaped(self, shape):
        return Real(self.tensor, tuple(shape), chains.reshape(self.chain, shape[1:]), self.nonbinary_layer, self.idx)

    def transposed(self, perm):
        shape = tuple(self.shape[p] for p in perm)
        idx = transposed_idx(self.idx, self.shape, perm, int(np.prod(self.shape)))
        chain = tuple((op, np.ascontiguousarray(c.reshape(self.shape[1:]).transpose([p - 1 for p in perm[1:]])))
                      for op, c in self.chain)
        return Real(self.tensor, shape, chain, self.nonbinary_layer, idx)


@dataclass
class Pred:
    """``src cmp t`` with ``cmp`` ``ge`` or ``gt`` (a ``Less`` is a swapped TwoLevel)."""

    src: Real
    cmp: str
    t: np.ndarray  # float32, per-inference shape
    node: str = ""
    # Materialised bits, keyed by the polarity asked for: emitted once however used.
    cache: dict = field(default_factory=dict)

    @property
    def shape(self):
        return self.src.shape

    def reshaped(self, shape):
        return Pred(self.src.reshaped(shape), self.cmp, self.t.reshape(shape[1:]), self.node)

    def transposed(self, perm):
        t = np.ascontiguousarray(self.t.reshape(self.shape[1:]).transpose([p - 1 for p in perm[1:]]))
        return Pred(self.src.transposed(perm), self.cmp, t, self.node)


@dataclass
class TwoLevel:
    """``hi`` where the predicate holds, ``lo`` where it does not (scalars).

    A comparison's boolean result is ``TwoLevel(pred, 1.0, 0.0)``."""

    pred: Pred
    hi: float
    lo: float

    @property
    def shape(self):
        return self.pred.shape

    @property
    def bipolar(self) -> bool:
        return self.hi == -self.lo and self.hi != 0

    def mapped(self, fn):
        return TwoLevel(self.pred, float(np.float32(fn(np.float32(self.hi)))), float(np.float32(fn(np.float32(self.lo)))))

    def reshaped(self, shape):
        return TwoLevel(self.pred.reshaped(shape), self.hi, self.lo)

    def transposed(self, perm):
        return TwoLevel(self.pred.transposed(perm), self.hi, self.lo)


@dataclass
class Index:
    """Int32 indices of the largest value along the last axis: an ArgMax / TopK(k=1) result,
    which only the graph output may take."""

    tensor: str
    shape: tuple


@dataclass
class Bits:
    """A materialised ±scale activation: IR bits tensor (bit 1 = -scale)."""

    tensor: str
    shape: tuple
    scale: float = 1.0
    idx: np.ndarray | None = None

    def reshaped(self, shape):
        return Bits(self.tensor, tuple(shape), self.scale, self.idx)

    def transposed(self, perm):
        shape = tuple(self.shape[p] for p in perm)
        return Bits(self.tensor, shape, self.scale, transposed_idx(self.idx, self.shape, perm, int(np.prod(self.shape))))


@dataclass
class Padded:
    """``Pad(value, pads)`` of an activation, waiting for the Conv that absorbs it."""

    inner: object
    pads: tuple  # (top, left, bottom, right)
    value: float
    nhwc: bool = False  # padded in NHWC (tf2onnx writes the Pad before its Transpose to NCHW)

    @property
    def shape(self):
        s = self.inner.shape
        if self.nhwc:
            return s[:1] + (s[1] + self.pads[0] + self.pads[2], s[2] + self.pads[1] + self.pads[3]) + s[3:]
        return s[:2] + (s[2] + self.pads[0] + self.pads[2], s[3] + self.pads[1] + self.pads[3])

    def transposed(self, perm):
        """NHWC -> NCHW only: the padding then waits for its Conv as an NCHW Pad does."""
        if not self.nhwc or list(perm) != [0, 3, 1, 2]:
            raise EdgebnnError("Transpose of a padded activation is supported from NHWC to NCHW only")
        return Padded(self.inner.transposed(perm), self.pads, self.value)
