"""Emits IR ops for symbolic values when they are used.

Constants reach the IR in physical order (layout.py); weights stay logical until
``passes.packing`` lays them out.
"""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError
from ..ir import Graph, Op
from ..ir import chain as chains
from ..ir.ops import OPS
from ..passes import ranges
from . import layout, limits
from .values import Bits, Const, Index, Pred, Real, TwoLevel
from .weights import BinaryWeights, analyse


def distinct_per_channel(w: np.ndarray) -> int:
    return max((len(np.unique(w[:, n])) for n in range(w.shape[1])), default=0)


class Builder:
    def __init__(self, name: str):
        self.graph = Graph(name)
        self.count = 0

    # -- emission ---------------------------------------------------------------
    def tensor(self, dtype: str, shape, fanin: int = 0) -> str:
        name = f"t{self.count}"
        self.count += 1
        self.graph.add_tensor(name, dtype, shape, fanin)
        return name

    def emit(self, kind: str, node: str, inputs: list[str], **attrs) -> str:
        """Append an op; its output tensor is what the op kind's shape rule says."""
        dtype, shape, fanin = OPS[kind].infer(self.graph, inputs, attrs)
        limits.check_shape(shape, f"the {kind} output", node)  # before anything is sized from it
        if dtype == "i32":  # before a table of 2 * fanin + 1 values (pooling, thresholds) is built
            ranges.check_fanin(fanin, node)
        out = self.tensor(dtype, shape, fanin)
        self.graph.ops.append(Op(kind, node, list(inputs), [out], attrs))
        return out

    def t(self, name: str):
        return self.graph.tensors[name]

    def physical(self, value, logical) -> np.ndarray:
        """A logical per-element constant of ``value`` in its tensor's physical order."""
        n = self.t(value.tensor).size
        flat = np.broadcast_to(np.asarray(logical), value.shape[1:]).reshape(-1)
        return layout.to_physical(value.idx, flat, n)

    def physical_chain(self, value: Real) -> tuple:
        return tuple((op, self.physical(value, c).astype(np.float32)) for op, c in value.chain)

    # -- materialisation ------------------------------------------------------------
    def real(self, value: Real, node: str) -> Real:
        """The value with its chain applied: a view of an f32 tensor."""
        src = self.t(value.tensor)
        if not value.chain and src.dtype == "f32":
            return value
        out = self.emit("affine", node, [value.tensor], chain=self.physical_chain(value))
        return Real(out, value.shape, nonbinary_layer=value.nonbinary_layer, idx=value.idx)

    def bits(self, pred: Pred, bit0_when_true: bool) -> tuple[str, np.ndarray | None]:
        """(bits tensor, view index) of ``pred``: bit 0 where it holds when ``bit0_when_true``."""
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
        t = self.t(src.tensor)
        if len(src.shape) == 4 and t.dtype == "f32" and not self.is_hwc(src):
            src = self.to_hwc(src, pred.node)  # binary convolutions read NHWC bits
            t = self.t(src.tensor)
        kind = "threshold" if t.dtype == "i32" else "binarize"
        out = self.emit(
            kind, pred.node, [src.tensor],
            chain=self.physical_chain(src), cmp=pred.cmp,
            t=self.physical(src, pred.t).astype(np.float32), invert=not bit0_when_true,
        )
        pred.cache[bit0_when_true] = out, src.idx
        return out, src.idx

    def is_hwc(self, value) -> bool:
        c, h, w = value.shape[1:]
        return self.t(value.tensor).shape == (h, w, c) and value.idx is not None and \
            np.array_equal(value.idx, layout.hwc_index(c, h, w))

    def to_hwc(self, value: Real, node: str) -> Real:
        """A copy of a float view as an (H, W, C) tensor."""
        c, h, w = value.shape[1:]
        hwc = layout.hwc_index(c, h, w)
        index = np.empty(hwc.size, np.int32)
        index[hwc] = value.idx if value.idx is not None else layout.identity(hwc.size)
        out = self.emit("gather", node, [value.tensor], index=index, shape=(h, w, c))
        return Real(out, value.shape, value.chain, value.nonbinary_layer, hwc)

    def to_hwc_real(self, value, node: str) -> Real:
        """Any activation (1, C, H, W) as a chain-free view of an (H, W, C) float tensor."""
        x = self.real(self.as_real(value, node), node)
        return x if self.is_hwc(x) else self.to_hwc(x, node)

    def nonbinary_detail(self, src: Real) -> str:
        op = self.graph.producer(src.tensor)
        w = self.graph.consts.get(op.attrs.get("weight", ""), None) if op is not None else None
        if w is None:
            return "real-valued"
        return f"up to {distinct_per_channel(w.reshape(w.shape[0], -1).T)} distinct values per output channel"

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
            tensor, idx = self.bits(value.pred, value.hi > 0)
            return Bits(tensor, value.shape, abs(value.hi), idx)
        raise EdgebnnError("expected a binary activation here", node)

    def as_real(self, value, node: str) -> Real:
        """Any non-constant value as a view of a float tensor (binary values unpacked)."""
        if isinstance(value, Real):
            return value
        if isinstance(value, TwoLevel):
            (bits, idx), hi, lo = self.bits(value.pred, True), value.hi, value.lo
        elif isinstance(value, Bits):
            bits, hi, lo, idx = value.tensor, value.scale, -value.scale, value.idx
        else:
            raise EdgebnnError(f"expected a tensor computed from the input, got {type(value).__name__}", node)
        out = self.emit("unpack", node, [bits], hi=hi, lo=lo)
        return Real(out, value.shape, idx=idx)

    def logical(self, value, node: str) -> Real:
        """Any activation as a chain-free float tensor in logical (row-major) order."""
        x = self.real(self.as_real(value, node), node)
        if x.idx is not None and not np.array_equal(x.idx, layout.identity(x.idx.size)):
            x = Real(self.emit("gather", node, [x.tensor], index=x.idx.astype(np.int32)), x.shape)
        return x

    def output(self, value, node: str) -> str:
        if isinstance(value, Const):
            raise EdgebnnError("the graph output does not depend on the input", node)
        if isinstance(value, Index):
            return value.tensor
        real = self.logical(value, node)
        if real.tensor == self.graph.input:
            return self.emit("affine", node, [real.tensor], chain=())
        return real.tensor

    # -- layers ------------------------------------------------------------------
    def dense(self, act, w: np.ndarray, node: str) -> Real:
        """``act (1, K) @ w (K, N)``."""
        k, n = w.shape
        form = analyse(w)
        if isinstance(act, (TwoLevel, Bits)):
            b = self.bipolar(act, node)
            if form is None:
                return self._float_dense(self.as_real(b, node), w, node, nonbinary=True)
            src = self.t(b.tensor)
            place = dict(k=k, slots=layout.slots(src)[b.idx if b.idx is not None else layout.identity(k)],
                         total=32 * src.words)
            d = self.emit("bdense", node, [b.tensor], **self.weight_attrs(form), **place)
            if not np.any(form.beta):
                return Real(d, (1, n), self.scale_chain(np.float32(b.scale) * form.gamma, (n,)))
            ones = BinaryWeights(np.ones((1, k), np.int8), None, np.ones(1, np.float32), np.zeros(1, np.float32))
            total = self.emit("bdense", node, [b.tensor], **self.weight_attrs(ones), **place)
            return self.combine(d, total, b.scale, form, (1, n), node)
        x = self.real(act, node)
        if form is None or form.mask is not None or np.any(form.beta):
            return self._float_dense(x, w, node)
        slot = x.idx if x.idx is not None else layout.identity(k)
        out = self.emit("dense_binw", node, [x.tensor], weight=self.weight(form.signs),
                        k=k, slots=slot, total=k)
        return Real(out, (1, n), self.scale_chain(form.gamma, (n,)))

    def weight_attrs(self, form: BinaryWeights) -> dict:
        attrs = {"weight": self.weight(form.signs)}
        if form.mask is not None:
            attrs["mask"] = self.weight(form.mask)
        return attrs

    def combine(self, d: str, total: str, scale: float, form: BinaryWeights, shape, node: str) -> Real:
        """Two-level weights: ``gamma * d + beta * sum(a)``, in float (the graph's own sum)."""
        s = np.float32(scale)
        out = self.emit("combine", node, [d, total],
                        gamma=(s * form.gamma).astype(np.float32), beta=(s * form.beta).astype(np.float32))
        idx = layout.hwc_index(*shape[1:]) if len(shape) == 4 else None
        return Real(out, shape, idx=idx)

    def _float_dense(self, x: Real, w: np.ndarray, node: str, nonbinary: bool = False) -> Real:
        k, n = w.shape
        phys = np.zeros((n, k), np.float32)
        phys[:, x.idx if x.idx is not None else layout.identity(k)] = w.T
        out = self.emit("dense", node, [x.tensor], weight=self.weight(phys))
        return Real(out, (1, n), nonbinary_layer=node if nonbinary else None)

    def conv(self, act, w: np.ndarray, geom: dict, node: str) -> Real:
        """ONNX Conv (group 1) of an activation (1, C, H, W) with weights (M, C, kh, kw)."""
        m = w.shape[0]
        ho, wo = geom["out_hw"]
        form = analyse(w.reshape(m, -1).T)
        if isinstance(act, (TwoLevel, Bits)) and form is not None:
            b = self.bipolar(act, node)
            self.require_hwc(b, node)
            shape = (1, m, ho, wo)
            full = dict(form.__dict__, signs=form.signs.reshape(w.shape),
                        mask=None if form.mask is None else form.mask.reshape(w.shape))
            d = self.emit("bconv", node, [b.tensor],
                          **self.weight_attrs(BinaryWeights(**full)), **geom)
            if not np.any(form.beta):
                return Real(d, shape, self.scale_chain(np.float32(b.scale) * form.gamma, (m, ho, wo)),
                            idx=layout.hwc_index(m, ho, wo))
            ones = BinaryWeights(np.ones((1,) + w.shape[1:], np.int8), None, np.ones(1, np.float32),
                                 np.zeros(1, np.float32))
            total = self.emit("bconv", node, [b.tensor],
                              **self.weight_attrs(ones), **geom)
            return self.combine(d, total, b.scale, form, shape, node)
        nonbinary = isinstance(act, (TwoLevel, Bits))
        x = self.real(self.as_real(act, node), node)
        c, h, wd = x.shape[1:]
        st = layout.strides(x.idx, c, h, wd)
        if st is None:  # an unusual view: copy it to NCHW order first
            x = Real(self.emit("gather", node, [x.tensor], index=x.idx.astype(np.int32)),
                     x.shape)
            st = (h * wd, wd, 1)
        out = self.emit("conv", node, [x.tensor], weight=self.weight(w.astype(np.float32)),
                        strides_in=st, in_chw=(c, h, wd), **geom)
        return Real(out, (1, m, ho, wo), nonbinary_layer=node if nonbinary else None, idx=layout.hwc_index(m, ho, wo))

    def require_hwc(self, b: Bits, node: str) -> None:
        if not self.is_hwc(b):
            raise EdgebnnError("binary convolution input is in an unsupported layout (a Transpose of "
                               "binary activations that does not cancel)", node)

    def weight(self, value: np.ndarray) -> str:
        return self.graph.add_const(self.graph.fresh(f"w{len(self.graph.consts)}"), np.ascontiguousarray(value))

    @staticmethod
    def scale_chain(scale: np.ndarray, shape: tuple) -> tuple:
        """A multiply by a per-channel scale (channels first in ``shape``), if not 1."""
        scale = np.asarray(scale, np.float32)
        if np.all(scale == 1):
            return ()
        return (chains.step("mul", scale.reshape((-1,) + (1,) * (len(shape) - 1)), shape),)
