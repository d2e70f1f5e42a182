"""Emits IR ops for symbolic values when they are used."""
from __future__ import annotations

import numpy as np

from .. import chain as chains
from ..errors import EdgebnnError
from ..ir import Graph
from .values import Bits, Const, Pred, Real, TwoLevel


def binary_weights(w: np.ndarray):
    """For weights (K, N): (signs int8 (N, K) of ±1, per-output scale (N,)) when every
    output channel takes only the values ±s, else None."""
    if w.ndim != 2 or not np.all(np.isfinite(w)):
        return None
    scale = np.max(np.abs(w), axis=0)
    if not np.all(np.abs(w) == scale[None, :]):
        return None
    signs = np.where(w < 0, -1, 1).astype(np.int8).T
    return np.ascontiguousarray(signs), scale.astype(np.float32)


def distinct_per_channel(w: np.ndarray) -> int:
    return max(len(np.unique(w[:, n])) for n in range(w.shape[1]))


class Builder:
    def __init__(self, name: str):
        self.graph = Graph(name)
        self.count = 0

    # -- emission ---------------------------------------------------------------
    def tensor(self, dtype: str, shape) -> str:
        name = f"t{self.count}"
        self.count += 1
        self.graph.add_tensor(name, dtype, shape)
        return name

    def emit(self, kind: str, node: str, inputs: list[str], dtype: str, shape, **attrs) -> str:
        from ..ir import Op

        out = self.tensor(dtype, shape)
        self.graph.ops.append(Op(kind, node, list(inputs), [out], attrs))
        return out

    def dtype(self, tensor: str) -> str:
        return self.graph.tensors[tensor].dtype

    # -- materialisation ------------------------------------------------------------
    def real(self, value: Real, node: str) -> str:
        """An f32 tensor holding the value, its chain applied."""
        if not value.chain and self.dtype(value.tensor) == "f32":
            return value.tensor
        return self.emit("affine", node, [value.tensor], "f32", value.shape[1:], chain=value.chain)

    def bits(self, pred: Pred, bit0_when_true: bool) -> str:
        """Bits of ``pred``: bit 0 where it holds when ``bit0_when_true``."""
        if bit0_when_true in pred.cache:
            return pred.cache[bit0_when_true]
        src = pred.src
        if src.nonbinary_layer:
            raise EdgebnnError(
                f"weights are not binary ({self.nonbinary_detail(src)}) but the layer's output is "
                f"binarized by node '{pred.node}', which makes it a binary layer; binarize the weights "
                "(±1 times an optional per-channel scale) or keep the layer real-valued",
                src.nonbinary_layer,
            )
        kind = "threshold" if self.dtype(src.tensor) == "i32" else "binarize"
        out = self.emit(
            kind, pred.node, [src.tensor], "bits", src.shape[1:],
            chain=src.chain, cmp=pred.cmp, t=pred.t, invert=not bit0_when_true,
        )
        pred.cache[bit0_when_true] = out
        return out

    def nonbinary_detail(self, src: Real) -> str:
        op = self.graph.producer(src.tensor)
        w = self.graph.consts[op.attrs["weight"]] if op is not None else None
        if w is None:
            return "real-valued"
        return f"up to {distinct_per_channel(w.T)} distinct values per output channel"

    def bipolar(self, value, node: str) -> Bits:
        """The value as ±scale bits, or a clear error."""
        if isinstance(value, Bits):
            return value
        if isinstance(value, TwoLevel):
            if not value.bipolar:
                raise EdgebnnError(
                    f"activation takes the values {value.hi:g} and {value.lo:g}, not ±s; "
                    "binary layers need bipolar (±1, optionally scaled) activations",
                    node,
                )
            return Bits(self.bits(value.pred, value.hi > 0), value.shape, abs(value.hi))
        raise EdgebnnError("expected a binary activation here", node)

    def as_real(self, value, node: str) -> Real:
        """Any non-constant value as a float tensor (binary values unpacked)."""
        if isinstance(value, Real):
            return value
        if isinstance(value, TwoLevel):
            bits = self.bits(value.pred, True)
            hi, lo = value.hi, value.lo
        elif isinstance(value, Bits):
            bits, hi, lo = value.tensor, value.scale, -value.scale
        else:
            raise EdgebnnError("expected a tensor computed from the input, got a constant", node)
        out = self.emit("unpack", node, [bits], "f32", value.shape[1:], hi=hi, lo=lo)
        return Real(out, value.shape)

    def output(self, value, node: str) -> str:
        if isinstance(value, Const):
            raise EdgebnnError("the graph output does not depend on the input", node)
        real = self.as_real(value, node)
        out = self.real(real, node)
        if out == self.graph.input:
            out = self.emit("affine", node, [out], "f32", real.shape[1:], chain=())
        return out

    # -- layers ------------------------------------------------------------------
    def dense(self, act, w: np.ndarray, node: str) -> Real:
        """``act (1, K) @ w (K, N)``."""
        k, n = w.shape
        binw = binary_weights(w)
        if isinstance(act, (TwoLevel, Bits)):
            b = self.bipolar(act, node)
            if binw is None:
                x = self.emit("unpack", node, [b.tensor], "f32", (k,), hi=b.scale, lo=-b.scale)
                out = self.emit("dense", node, [x], "f32", (n,), weight=self.weight(node, w.T.astype(np.float32)))
                return Real(out, (1, n), nonbinary_layer=node)
            signs, scale = binw
            out = self.emit("bdense", node, [b.tensor], "i32", (n,), weight=self.weight(node, signs), k=k)
            return Real(out, (1, n), self.scale_chain(np.float32(b.scale) * scale, n))
        x = self.real(act, node)
        if binw is None:
            out = self.emit("dense", node, [x], "f32", (n,), weight=self.weight(node, w.T.astype(np.float32)))
            return Real(out, (1, n))
        signs, scale = binw
        out = self.emit("dense_binw", node, [x], "f32", (n,), weight=self.weight(node, signs), k=k)
        return Real(out, (1, n), self.scale_chain(scale, n))

    def weight(self, node: str, value: np.ndarray) -> str:
        return self.graph.add_const(self.graph.fresh(f"w{len(self.graph.consts)}"), np.ascontiguousarray(value))

    @staticmethod
    def scale_chain(scale: np.ndarray, n: int) -> tuple:
        scale = np.asarray(scale, np.float32)
        return () if np.all(scale == 1) else (chains.step("mul", scale, (n,)),)
