"""Instructions per inference from a per-layer linear model calibrated on QEMU counts.

Each lowered op gets a few work counts (features) that its kernel's loops scale with --
rows, output elements, weight words visited, non-zero mask words, connections, taps inside
the image -- and its instructions are a non-negative combination of them, one set of
coefficients per target core and per kernel (op kind and weight format).  The coefficients
live in calibration.json, written by ``python -m edgebnn.design.calibrate`` from per-layer
QEMU -icount counts of random networks: when the kernels change, re-run that one command.
Counts are instructions under QEMU -icount, not cycles.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..errors import EdgebnnError
from ..ir import Graph, Op

CALIBRATION = Path(__file__).resolve().parent / "calibration.json"


def group(op: Op, graph: Graph) -> str:
    """The kernel an op runs: its kind, its weight format or the dtype it works on, and the
    C function codegen chose for it (optimised, portable, or none when fused)."""
    base = op.kind
    if op.kind in ("bdense", "bconv"):
        base = f"{op.kind}:{op.attrs.get('format', 'bits')}"
    elif op.kind == "maxpool":
        base = f"maxpool:{graph.tensors[op.inputs[0]].dtype}"
    return f"{base}:{op.attrs.get('c_function', '?')}"


def _valid_taps(op: Op) -> int:
    """Kernel taps that fall inside the input, summed over the output pixels (padded taps
    are skipped or corrected for, so they cost differently)."""
    (kh, kw), (sh, sw) = op.attrs["kernel"], op.attrs["stride"]
    top, left = op.attrs["pad"][0], op.attrs["pad"][1]
    (ho, wo), (hi, wi) = op.attrs["out_hw"], op.attrs["in_hw"]
    dh, dw = op.attrs.get("dilation", (1, 1))

    def inside(n_out, n_in, k, s, p, d):
        return sum(sum(0 <= o * s - p + j * d < n_in for j in range(k)) for o in range(n_out))

    return inside(ho, hi, kh, sh, top, dh) * inside(wo, wi, kw, sw, left, dw)


def _code_lengths(graph: Graph) -> np.ndarray:
    """Code length of every mask byte value under the model's shared canonical Huffman code."""
    count, offset, symbols = (graph.consts[k].astype(np.int64) for k in ("huff_count", "huff_offset", "huff_symbols"))
    lengths = np.zeros(256, np.int64)
    for n in range(1, len(count)):
        lengths[symbols[offset[n]:offset[n] + count[n]]] = n
    return lengths


def _mask_work(graph: Graph, op: Op) -> tuple[np.ndarray, int, int, int]:
    """(mask words, non-zero words, connections, decoder work): the decoder answers codes of
    up to 8 bits from a table and walks longer ones bit by bit, so its cost depends on how
    many mask bytes have long codes (many, at connection rates near 50 %)."""
    m = graph.consts[op.attrs["mask"]].astype(np.uint32)
    data = m.view(np.uint8)
    slow = 0
    if op.attrs.get("format") == "huffman":
        n = _code_lengths(graph)[data]
        slow = int(n[n > 8].sum())
    return m, int(np.count_nonzero(m)), int(np.unpackbits(data).sum()), slow


def features(graph: Graph, op: Op) -> list[float]:
    """The work counts of an op's kernel loops (see runtime_c/)."""
    out, inp = graph.tensors[op.outputs[0]], graph.tensors[op.inputs[0]]
    if op.kind == "bdense":
        n, words = out.size, (inp.size + 31) // 32 if inp.dtype != "bits" else inp.words
        f = [1, n, n * words]
        if str(op.attrs.get("c_function", "")).endswith("_t"):
            f.append(words)  # the transposed kernel lists the input's bits once per call
        if "mask" in op.attrs:
            _, nz, conn, slow = _mask_work(graph, op)
            f += [nz, conn, slow]
        return f
    if op.kind == "bconv":
        p, m_out = out.rows, out.channels
        words = (inp.channels + 31) // 32
        kh, kw = op.attrs["kernel"]
        taps = _valid_taps(op)
        if "mask" in op.attrs:
            m, nz, conn, slow = _mask_work(graph, op)
            share = taps / (p * kh * kw)  # the fraction of taps inside the image
            # each channel's mask and signs are decoded once; a channel without connections
            # skips every pixel, the others visit every tap and word of every pixel and do
            # the XOR-popcount work on the non-zero words only (few features, so that the fit
            # stays determined on a few dozen layers)
            live = int(np.count_nonzero(m.reshape(m_out, -1).any(axis=1)))
            return [1, p * m_out, p * live, p * live * kh * kw * words, p * nz * share, conn + m.size, slow]
        return [1, p, p * m_out, p * m_out * kh, p * m_out * kh * kw, taps * m_out * words]
    if op.kind == "conv":
        return [1, out.size, _valid_taps(op) * out.channels * op.attrs["in_chw"][0]]
    if op.kind in ("dense", "dense_binw"):
        return [1, out.size, out.size * op.attrs.get("k", inp.size)]
    if op.kind == "maxpool":
        return [1, out.rows, out.size, inp.size]
    steps = len(op.attrs.get("chain") or ())  # float steps per element (soft float on M0+/M3)
    return [1, out.rows, out.size, out.size * steps]


@lru_cache(maxsize=None)
def _load(path: str) -> dict:
    return json.loads(Path(path).read_text())


def coefficients(core: str, path: Path = CALIBRATION) -> dict:
    data = _load(str(path)) if Path(path).is_file() else {}
    if core not in data.get("cores", {}):
        raise EdgebnnError(f"no instruction calibration for '{core}' in {Path(path).name}: "
                           f"run python -m edgebnn.design.calibrate --target {core}")
    return data["cores"][core]


def predict(graph: Graph, core: str, coefs: dict | None = None) -> list[int]:
    """Predicted instructions of every op (QEMU -icount instructions, not cycles)."""
    coefs = coefs if coefs is not None else coefficients(core)
    out = []
    for op in graph.ops:
        g = group(op, graph)
        f = features(graph, op)
        g = g if g in coefs["groups"] else _base(g)  # a C function the calibration never ran
        if g not in coefs["groups"] or len(coefs["groups"][g]) != len(f):
            raise EdgebnnError(f"the instruction model for {core} was not calibrated on '{g}' layers: "
                               f"re-run python -m edgebnn.design.calibrate --target {core}")
        out.append(int(round(float(np.dot(coefs["groups"][g], f)))))
    return out


def _base(g: str) -> str:
    """The group without its C function: every function of that op kind and format."""
    return g.rsplit(":", 1)[0]


def fit(rows: list[tuple[str, list[float], int]]) -> dict:
    """NNLS per group on relative error (small and large layers weigh alike)."""
    from scipy.optimize import nnls

    groups: dict = {}
    for g, f, y in rows:
        for key in (g, _base(g)):
            groups.setdefault(key, ([], []))
            if groups[key][0] and len(groups[key][0][0]) != len(f):
                continue  # a fall-back group keeps the functions with the same features
            groups[key][0].append(f)
            groups[key][1].append(y)
    coefs, errors = {}, {}
    for g, (fs, ys) in sorted(groups.items()):
        a, y = np.array(fs, float), np.array(ys, float)
        w = 1.0 / np.maximum(y, 50.0)
        scale = np.maximum(np.abs(a).max(axis=0), 1.0)  # columns on one scale for NNLS
        x, _ = nnls(a * w[:, None] / scale, y * w)
        coefs[g] = [float(v) for v in x / scale]
        pred = a @ np.array(coefs[g])
        errors[g] = {"layers": len(y), "max_relative_error": round(float(np.max(np.abs(pred - y) / np.maximum(y, 1))), 4)}
    return {"groups": coefs, "fit": errors}
