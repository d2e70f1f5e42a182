"""What the windowed ops (convolutions, pooling) share: the taps of a window over the input,
and the window's geometry as the C kernels read it (``ebnn_window``)."""
from __future__ import annotations

import numpy as np

from ..graph import Graph, Op
from .base import OpKind


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


def valid_taps(op: Op) -> int:
    """Kernel taps that fall inside the input, summed over the output pixels (padded taps
    are skipped or corrected for, so they cost differently)."""
    (kh, kw), (sh, sw) = op.attrs["kernel"], op.attrs["stride"]
    top, left = op.attrs["pad"][0], op.attrs["pad"][1]
    (ho, wo), (hi, wi) = op.attrs["out_hw"], op.attrs["in_hw"]
    dh, dw = op.attrs.get("dilation", (1, 1))

    def inside(n_out, n_in, k, s, p, d):
        return sum(sum(0 <= o * s - p + j * d < n_in for j in range(k)) for o in range(n_out))

    return inside(ho, hi, kh, sh, top, dh) * inside(wo, wi, kw, sw, left, dw)


def outside_masks(op: Op) -> tuple[np.ndarray, np.ndarray]:
    """Per output row, the mask of tap rows outside the image (bit i: tap row i); per output
    column, that of tap columns."""
    (kh, kw), (sh, sw), (pt, pl, _, _), (dh, dw) = (op.attrs[k] for k in ("kernel", "stride", "pad", "dilation"))
    (h, w), (ho, wo) = op.attrs["in_hw"], op.attrs["out_hw"]

    def masks(n_out, n_in, k, s, p, d):
        at = np.arange(n_out)[:, None] * s - p + np.arange(k)[None, :] * d
        return (((at < 0) | (at >= n_in)) << np.arange(k)).sum(axis=1)

    return masks(ho, h, kh, sh, pt, dh), masks(wo, w, kw, sw, pl, dw)


def image(graph: Graph, op: Op, x: np.ndarray) -> np.ndarray:
    """(B, H, W, C) view of the input, in its own dtype (words for bits)."""
    h, w, _ = graph.tensors[op.inputs[0]].shape
    return x.reshape(len(x), h, w, -1)


class WindowOp(OpKind):
    def in_channels(self, graph: Graph, op: Op) -> int:
        """Input channels the window reads (a float convolution reads through strides)."""
        return graph.tensors[op.inputs[0]].channels

    def window(self, em, op: Op, suffix: str = "_g") -> str:
        return em.window(op, self.in_channels(em.graph, op), suffix)
