"""``avgpool``: f32 -> f32, the mean of each window (``count_pad``: padded taps count, as
ONNX ``count_include_pad``), summed in tap order in float32."""
from __future__ import annotations

import numpy as np

from .window import WindowOp, image, taps


class AvgPool(WindowOp):
    kind = "avgpool"
    source = "ebnn_pool.c"

    def infer(self, graph, inputs, attrs):
        return "f32", tuple(attrs["out_hw"]) + (graph.tensors[inputs[0]].channels,), 0

    def reference(self, graph, op, x):
        a = op.attrs
        xin = image(graph, op, x)
        ho, wo = a["out_hw"]
        (h, w), (pt, pl, pb, pr) = a["in_hw"], a["pad"]
        (sh, sw), (kh, kw), (dh, dw) = a["stride"], a["kernel"], a["dilation"]
        acc = np.zeros((len(x), ho, wo, xin.shape[-1]), np.float32)
        count = np.zeros((ho, wo), np.float32)
        for t, (ih, iw, valid) in enumerate(taps(op)):
            acc = np.where(valid[None, :, :, None], (acc + xin[:, ih, iw, :]).astype(np.float32), acc)
            if a["count_pad"]:
                i, j = divmod(t, kw)
                rh = np.arange(ho)[:, None] * sh - pt + i * dh
                rw = np.arange(wo)[None, :] * sw - pl + j * dw
                count += (rh < h + pb) & (rw < w + pr)
            else:
                count += valid
        return (acc / count[None, :, :, None]).astype(np.float32).reshape(len(x), -1)

    def c_call(self, em, op):
        a = op.attrs
        return (f"ebnn_avgpool_f32({em.src(op)}, {em.dst(op)}, {self.window(em, op)}, {a['pad'][2]}, "
                f"{a['pad'][3]}, {int(a['count_pad'])})")
