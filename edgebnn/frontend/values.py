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

from .. import chain as chains


@dataclass
class Const:
    value: np.ndarray

    @property
    def shape(self):
        return tuple(self.value.shape)


@dataclass
class Real:
    """An IR tensor (f32, or i32 accumulator) with a pending float chain."""

    tensor: str
    shape: tuple  # full ONNX shape, batch axis first (1)
    chain: tuple = ()
    # The dense node behind an accumulator whose weights were not binary: a
    # binarizer after it makes it a binary layer, which needs binary weights.
    nonbinary_layer: str | None = None

    def reshaped(self, shape):
        return Real(self.tensor, tuple(shape), chains.reshape(self.chain, shape[1:]), self.nonbinary_layer)


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


@dataclass
class Bits:
    """A materialised ±scale activation: IR bits tensor (bit 1 = -scale)."""

    tensor: str
    shape: tuple
    scale: float = 1.0

    def reshaped(self, shape):
        return Bits(self.tensor, tuple(shape), self.scale)
