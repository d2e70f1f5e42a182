"""Calls of the optimised kernels (runtime_c/ebnn_opt*.c), chosen at codegen (TFLite Micro
style: the portable kernels stay the oracle, ``kernels="reference"`` selects them).

- bdense / bconv with dense binary weights whose row fits ``optkernels.fits``: grouped
  weights and ``ebnn_b*_opt``; when a threshold is the accumulator's only reader, one fused
  ``ebnn_b*_thr_opt`` call writes its bits (the threshold layer then does nothing).  Shorter
  dense rows followed by a threshold: ``ebnn_bdense_thr_small`` (plain weights, fused).
- binarize whose float chain is provably monotone: the chain and the threshold fold into one
  float32 threshold per element (exact for every float32 input, see optkernels).
"""
from __future__ import annotations

import numpy as np

from ..ir import Op
from ..ir import weight_layouts as optkernels
from ..ir.bits import pack
from ..ir.float_threshold import fold_binarize
from .cvalues import compress

HEADER = "ebnn_opt.h"
VSUM = "ebnn_opt_vsum.c"  # the transposed kernels' shared vertical sums
FILES = {"bdense": "ebnn_opt_dense.c", "bconv": "ebnn_opt_conv.c", "binarize": "ebnn_opt_act.c"}


def files(used: set[str]) -> list[str]:
    """The header and C files of the optimised kernels a model calls: the dense and conv
    files hold transposed kernels, which need the shared vertical sums."""
    if not used:
        return []
    needed = set(used) | ({VSUM} if used & {FILES["bdense"], FILES["bconv"]} else set())
    return [HEADER] + sorted(needed)


def fused_threshold(graph, op: Op) -> Op | None:
    """The threshold op that alone reads op's accumulator, if any."""
    acc = op.outputs[0]
    readers = graph.consumers(acc)
    if acc == graph.output or len(readers) != 1:
        return None
    thr = readers[0]
    return thr if thr.kind == "threshold" and "thr" in thr.attrs and thr.inputs[0] == acc else None


def layer(em, index: int, op: Op, src: str, dst: str) -> str | None:
    """The C call of an optimised layer, or None to use the portable kernel."""
    g, a, p = em.graph, op.attrs, f"L{index}"
    if op.kind == "threshold" and id(op) in em.fused:
        return f"(void)0 /* fused into layer {em.fused[id(op)]} */"
    if op.kind in ("bdense", "bconv"):
        if a.get("format", "bits") != "bits":
            return None  # sparse formats: their own kernels (ebnn_sparse.c)
        raw = np.asarray(g.consts[a["weight"]], np.uint32)
        raw = raw.reshape(raw.shape[0], -1)
        thr_op = fused_threshold(g, op)
        if op.kind == "bdense" and optkernels.fits_t(a["k"], raw.shape[1]):
            return _dense_t(em, op, a, p, src, dst, raw, thr_op, index)
        if op.kind == "bconv" and index in em.plan.scratch:  # optkernels.reserve_scratch
            return _conv_t(em, op, a, p, src, dst, raw, thr_op, index)
        small = not optkernels.fits(raw.shape[1])
        if small and (op.kind != "bdense" or thr_op is None):
            return None  # short rows without a threshold to fuse: the portable kernel is as fast
        w = em.const(p + "_w", "uint32_t", raw if small else optkernels.group_rows(raw))
        em.opt_files.add(FILES[op.kind])
        src_t = g.tensors[op.inputs[0]]
        geom = em.window(p, op) if op.kind == "bconv" else None
        if thr_op is None:
            if op.kind == "bdense":
                return f"ebnn_bdense_opt({src}, {w}, {dst}, {a['k']}, {src_t.words}, {g.tensors[op.outputs[0]].size})"
            return f"ebnn_bconv_opt({src}, {w}, {dst}, {geom}, {a['pad_mode']})"
        out_t = g.tensors[thr_op.outputs[0]]
        ta = thr_op.attrs
        _, mod = compress(ta["thr"].astype(np.int64) * 2 + ta["neg"], out_t.channels)
        thr = em.const(p + "_thr", "int32_t", ta["thr"][:mod])
        neg = em.const(p + "_neg", "uint32_t", pack(ta["neg"][:mod]))
        em.fused[id(thr_op)] = index
        bits = em.ptr(thr_op.outputs[0], True)
        if op.kind == "bdense":
            return (f"ebnn_bdense_thr_{'small' if small else 'opt'}({src}, {w}, {bits}, {a['k']}, {src_t.words}, "
                    f"{g.tensors[op.outputs[0]].size}, {thr}, {neg}, {mod})")
        return f"ebnn_bconv_thr_opt({src}, {w}, {bits}, {geom}, {a['pad_mode']}, {thr}, {neg}, {mod})"
    if op.kind == "binarize":
        out_t = g.tensors[op.outputs[0]]
        folded = fold_binarize(a["chain"], a["t"], a["cmp"], bool(a["invert"]), (out_t.size,))
        if folded is None:
            return None
        t, strict, invert = folded
        tname, mod = em.per_element(p + "_t", "float", t.astype(np.float32), out_t.channels)
        em.opt_files.add(FILES["binarize"])
        return (f"ebnn_binarize_cmp_f32({src}, {dst}, {out_t.rows}, {out_t.channels}, {tname}, {mod}, "
                f"{int(strict)}, {int(invert)})")
    return None


def _thr_consts(em, p, thr_op, index):
    out_t = em.graph.tensors[thr_op.outputs[0]]
    ta = thr_op.attrs
    _, mod = compress(ta["thr"].astype(np.int64) * 2 + ta["neg"], out_t.channels)
    thr = em.const(p + "_thr", "int32_t", ta["thr"][:mod])
    neg = em.const(p + "_neg", "uint32_t", pack(ta["neg"][:mod]))
    em.fused[id(thr_op)] = index
    return thr, neg, mod


def _dense_t(em, op, a, p, src, dst, raw, thr_op, index):
    """Transposed dense (ebnn_bdense_t / ebnn_bdense_thr_t): vertical sums of the weights
    over the inputs whose bit is set (or clear)."""
    k = int(a["k"])
    n = em.graph.tensors[op.outputs[0]].size
    wt, tw = optkernels.transpose_rows(raw)
    words = raw.shape[1]
    w = em.const(p + "_wt", "uint32_t", wt)
    t = em.const(p + "_tw", "int32_t", tw)
    em.opt_files.add(FILES["bdense"])
    if thr_op is None:
        return f"ebnn_bdense_t({src}, {w}, {t}, {dst}, {k}, {words}, {n})"
    thr, neg, mod = _thr_consts(em, p, thr_op, index)
    bits = em.ptr(thr_op.outputs[0], True)
    return f"ebnn_bdense_thr_t({src}, {w}, {t}, {bits}, {k}, {words}, {n}, {thr}, {neg}, {mod})"


def _conv_t(em, op, a, p, src, dst, raw, thr_op, index):
    """Transposed convolution (ebnn_bconv_t / ebnn_bconv_thr_t): per output pixel, vertical
    sums of the weights over the window's set input bits, listed once per input column."""
    kh, kw = a["kernel"]
    wt, tw, ttap = optkernels.transpose_conv(raw, kh, kw, raw.shape[1] // (kh * kw))
    w = em.const(p + "_wt", "uint32_t", wt)
    t = em.const(p + "_twp", "uint32_t", optkernels.pair_counts(tw))
    zero_pad = a["pad_mode"] == 0 and any(a["pad"])
    tt = em.const(p + "_ttap", "uint16_t", ttap.reshape(-1)) if zero_pad else "0"
    em.opt_files.add(FILES["bconv"])
    geom = em.window(p, op)
    scratch = f"((uint32_t *)(a + {em.plan.scratch[index]})), {a['scratch_bytes'] // 4}"
    if thr_op is None:
        return f"ebnn_bconv_t({src}, {w}, {t}, {tt}, {dst}, {geom}, {a['pad_mode']}, {scratch})"
    thr, neg, mod = _thr_consts(em, p, thr_op, index)
    bits = em.ptr(thr_op.outputs[0], True)
    return (f"ebnn_bconv_thr_t({src}, {w}, {t}, {tt}, {bits}, {geom}, {a['pad_mode']}, {thr}, {neg}, {mod}, "
            f"{scratch})")
