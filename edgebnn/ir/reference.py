"""The numpy executor of the lowered IR: the semantics every back end is checked against.

It works on the same physical layouts, packed words, integer thresholds and float32
step order as the C kernels, batched over the first axis.  Tensors are (batch, n)
arrays: elements for f32/i32, uint32 words for bits.
"""
from __future__ import annotations

import numpy as np

from . import bits, chain as chains
from .graph import Graph, Op, Tensor


# -- helpers --------------------------------------------------------------------------
def pack_rows(neg: np.ndarray, t: Tensor) -> np.ndarray:
    """(batch, n) booleans (True = -1) in physical order -> (batch, words)."""
    return bits.pack(neg.reshape(len(neg), t.rows, t.channels)).reshape(len(neg), -1)


def unpack_rows(x: np.ndarray, t: Tensor) -> np.ndarray:
    """(batch, words) -> (batch, n) booleans."""
    wc = t.words // t.rows if t.rows else 0
    return bits.unpack(x.reshape(len(x), t.rows, wc), t.channels).reshape(len(x), -1)


def _flat_chain(op: Op):
    return tuple((s, c.reshape(-1)) for s, c in op.attrs["chain"])


def _accumulate(terms, acc=None):
    """Sum float32 terms in order, as the C loops do."""
    for term in terms:
        acc = term.astype(np.float32) if acc is None else (acc + term).astype(np.float32)
    return acc


def taps(op: Op):
    """Per window tap: (ih (Ho, 1), iw (1, Wo), valid (Ho, Wo)), clipped to the input."""
    (kh, kw), (sh, sw), (pt, pl, _, _), (dh, dw) = (op.attrs[k] for k in ("kernel", "stride", "pad", "dilation"))
    (h, w), (ho, wo) = op.attrs["in_hw"], op.attrs["out_hw"]
    for i in range(kh):
        ih = np.arange(ho)[:, None] * sh - pt + i * dh
        for j in range(kw):
            iw = np.arange(wo)[None, :] * sw - pl + j * dw
            valid = (ih >= 0) & (ih < h) & (iw >= 0) & (iw < w)
            yield np.clip(ih, 0, h - 1), np.clip(iw, 0, w - 1), valid


# -- kernels --------------------------------------------------------------------------
def _binarize(g: Graph, op: Op, x):
    v = chains.apply(_flat_chain(op), x)
    t = op.attrs["t"].reshape(-1)
    holds = v >= t if op.attrs["cmp"] == "ge" else v > t
    return pack_rows(holds if op.attrs["invert"] else ~holds, g.tensors[op.outputs[0]])


def _threshold(g: Graph, op: Op, d):
    return pack_rows((d < op.attrs["thr"]) ^ op.attrs["neg"], g.tensors[op.outputs[0]])


def _affine(g: Graph, op: Op, x):
    return chains.apply(_flat_chain(op), x.astype(np.float32))


def _dots(x, w, mask, per_row: int):
    """±1 dot products of words x (..., words) with rows w (N, words), summed over the last
    axis: ``per_row - 2 * popcount(x ^ w)``, or with a connection mask
    ``popcount(m) - 2 * popcount(m & (x ^ w))``."""
    diff = x[..., None, :] ^ w
    if mask is None:
        return per_row - 2 * bits.popcount(diff).sum(axis=-1)
    return bits.popcount(mask).sum(axis=-1) - 2 * bits.popcount(mask & diff).sum(axis=-1)


def _mask(g: Graph, op: Op):
    return g.consts[op.attrs["mask"]] if "mask" in op.attrs else None


def _bdense(g: Graph, op: Op, x):
    w = g.consts[op.attrs["weight"]]  # (N, words)
    return _dots(x, w, _mask(g, op), op.attrs["k"]).astype(np.int32)


def _dense(g: Graph, op: Op, x):
    w = g.consts[op.attrs["weight"]]  # (N, n) float32
    zero = np.zeros((x.shape[0], w.shape[0]), np.float32)
    return _accumulate((x[:, i, None] * w[None, :, i] for i in range(w.shape[1])), zero)


def _dense_binw(g: Graph, op: Op, x):
    n = g.tensors[op.inputs[0]].size
    neg = bits.unpack(g.consts[op.attrs["weight"]], n)  # (N, n)
    zero = np.zeros((x.shape[0], neg.shape[0]), np.float32)
    return _accumulate((np.where(neg[None, :, i], -x[:, i, None], x[:, i, None]) for i in range(n)), zero)


def _unpack(g: Graph, op: Op, x):
    neg = unpack_rows(x, g.tensors[op.inputs[0]])
    return np.where(neg, np.float32(op.attrs["lo"]), np.float32(op.attrs["hi"])).astype(np.float32)


def _gather(g: Graph, op: Op, x):
    return x[:, op.attrs["index"]]


def _bconv(g: Graph, op: Op, x):
    src, dst = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
    h, w, c = src.shape
    words = x.reshape(len(x), h, w, -1)
    wt = g.consts[op.attrs["weight"]]  # (M, kh, kw, wc)
    mode = op.attrs["pad_mode"]
    pad_word = bits.pack(np.full(c, mode < 0))  # the words of a -1 or +1 pixel
    mask = _mask(g, op)
    ho, wo, m = dst.shape
    d = np.zeros((len(x), ho, wo, m), np.int64)
    for t, (ih, iw, valid) in enumerate(taps(op)):
        i, j = divmod(t, op.attrs["kernel"][1])
        xin = words[:, ih, iw, :]  # (B, Ho, Wo, wc)
        if mode:
            xin = np.where(valid[None, :, :, None], xin, pad_word)
        tap = _dots(xin, wt[:, i, j, :], None if mask is None else mask[:, i, j, :], c)
        d += np.where(valid[None, :, :, None] | bool(mode), tap, 0)
    return d.astype(np.int32).reshape(len(x), -1)


def _conv(g: Graph, op: Op, x):
    c, h, w = op.attrs["in_chw"]
    sc, sh, sw = op.attrs["strides_in"]
    ci, hi, wi = np.meshgrid(np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    xl = x[:, ci * sc + hi * sh + wi * sw]  # (B, C, H, W) logical
    wt = g.consts[op.attrs["weight"]]  # (M, C, kh, kw)
    ho, wo, m = g.tensors[op.outputs[0]].shape
    acc = np.zeros((len(x), ho, wo, m), np.float32)
    for t, (ih, iw, valid) in enumerate(taps(op)):
        i, j = divmod(t, op.attrs["kernel"][1])
        for ic in range(c):
            term = xl[:, ic, ih, iw][..., None] * wt[None, None, None, :, ic, i, j]
            acc = np.where(valid[None, :, :, None], (acc + term).astype(np.float32), acc)
    return acc.reshape(len(x), -1)


def _window(g: Graph, op: Op, x):
    """(B, H, W, C) view of the input, in its own dtype (words for bits)."""
    src = g.tensors[op.inputs[0]]
    h, w, _ = src.shape
    return x.reshape(len(x), h, w, -1)


def _maxpool(g: Graph, op: Op, x):
    dtype = g.tensors[op.inputs[0]].dtype
    xin = _window(g, op, x)
    ho, wo = op.attrs["out_hw"]
    if dtype == "bits":  # any +1 wins: AND of the bits
        acc = np.full((len(x), ho, wo, xin.shape[-1]), 0xFFFFFFFF, np.uint32)
        for ih, iw, valid in taps(op):
            acc = np.where(valid[None, :, :, None], acc & xin[:, ih, iw, :], acc)
    elif dtype == "i32":
        use_min = op.attrs["use_min"]
        acc = np.where(use_min, np.iinfo(np.int32).max, np.iinfo(np.int32).min) * np.ones(
            (len(x), ho, wo, 1), np.int64)
        for ih, iw, valid in taps(op):
            v = xin[:, ih, iw, :]
            best = np.where(use_min, np.minimum(acc, v), np.maximum(acc, v))
            acc = np.where(valid[None, :, :, None], best, acc)
        acc = acc.astype(np.int32)
    else:
        acc = np.full((len(x), ho, wo, xin.shape[-1]), -np.inf, np.float32)
        for ih, iw, valid in taps(op):
            acc = np.where(valid[None, :, :, None], np.fmax(acc, xin[:, ih, iw, :]), acc)
    return acc.reshape(len(x), -1)


def _avgpool(g: Graph, op: Op, x):
    xin = _window(g, op, x)
    ho, wo = op.attrs["out_hw"]
    (h, w), (pt, pl, pb, pr) = op.attrs["in_hw"], op.attrs["pad"]
    (sh, sw), (kh, kw), (dh, dw) = op.attrs["stride"], op.attrs["kernel"], op.attrs["dilation"]
    acc = np.zeros((len(x), ho, wo, xin.shape[-1]), np.float32)
    count = np.zeros((ho, wo), np.float32)
    for t, (ih, iw, valid) in enumerate(taps(op)):
        acc = np.where(valid[None, :, :, None], (acc + xin[:, ih, iw, :]).astype(np.float32), acc)
        if op.attrs["count_pad"]:
            i, j = divmod(t, kw)
            rh = np.arange(ho)[:, None] * sh - pt + i * dh
            rw = np.arange(wo)[None, :] * sw - pl + j * dw
            count += (rh < h + pb) & (rw < w + pr)
        else:
            count += valid
    return (acc / count[None, :, :, None]).astype(np.float32).reshape(len(x), -1)


def _combine(g: Graph, op: Op, d, total):
    """Two-level weights: gamma * d + beta * sum(a) per row, in float32."""
    t = g.tensors[op.outputs[0]]
    dd = d.reshape(len(d), t.rows, t.channels).astype(np.float32) * op.attrs["gamma"]
    ss = total.reshape(len(total), t.rows, 1).astype(np.float32) * op.attrs["beta"]
    return (dd.astype(np.float32) + ss.astype(np.float32)).astype(np.float32).reshape(len(d), -1)


def _scale_rows(g: Graph, op: Op, x, m):
    t = g.tensors[op.inputs[0]]
    return (x.reshape(len(x), t.rows, t.channels) * m[:, :, None]).reshape(len(x), -1)


def _mean_rows(g: Graph, op: Op, x):
    t = g.tensors[op.inputs[0]]
    rows = x.reshape(len(x), t.rows, t.channels)
    total = _accumulate((rows[:, :, c] for c in range(t.channels)), np.zeros((len(x), t.rows), np.float32))
    return (total / np.float32(t.channels)).astype(np.float32)


KERNELS = {
    "binarize": _binarize, "threshold": _threshold, "affine": _affine, "bdense": _bdense,
    "dense": _dense, "dense_binw": _dense_binw, "unpack": _unpack, "gather": _gather,
    "bconv": _bconv, "conv": _conv, "maxpool": _maxpool, "avgpool": _avgpool,
    "scale_rows": _scale_rows, "mean_rows": _mean_rows, "combine": _combine,
}


class Reference:
    def __init__(self, graph: Graph):
        self.graph = graph

    def run(self, x: np.ndarray) -> np.ndarray:
        g = self.graph
        x = np.asarray(x, np.float32)
        if tuple(x.shape[1:]) != tuple(g.input_shape[1:]):
            raise ValueError(f"input of shape {x.shape}: expected (N, {', '.join(map(str, g.input_shape[1:]))})")
        env = {g.input: x.reshape(x.shape[0], -1)}
        for op in g.ops:
            env[op.outputs[0]] = KERNELS[op.kind](g, op, *(env[t] for t in op.inputs))
        return env[g.output].reshape((x.shape[0],) + tuple(g.output_shape[1:]))
