"""Choose and build the stored form of each binary layer's weights.

- ``bits``: dense ±1 weights, 1 bit each (layers without zeros).
- ``masked``: sign words and connection-mask words, 2 bits per weight.
- ``words``: only the words with a connection (3PXNet-style): per row the end of its
  list, per word its index in the row (16 bits), its mask and its sign word; all-zero
  words and kernels cost nothing, in flash or in the loop.
- ``huffman``: the mask bytes entropy-coded with one canonical Huffman code shared by
  the model's sparse layers (huffman.py), plus the sign bits of the connections only:
  about H(p) + p bits per weight at connection rate p, decoded as the layer runs.
With ``weights="size"`` (the default) a sparse layer takes the smallest of the three;
with ``"speed"`` the smaller of masked/words, whose loops read their words directly
(Huffman decoding costs several times the dot products: benchmarks/sparsity.py).
Huffman layers get a scratch tensor in the arena for the decoder's table (and, in
convolutions, one decoded row).
"""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError
from ..ir import Graph, Op, bits
from ..ir.ops import OPS
from ..ir.ops.binary import HUFFMAN_TABLE
from . import huffman

LUT_WORDS = 128  # EBNN_HUFF_LUT_WORDS
POLICIES = ("size", "speed")


def _mask_bytes(graph: Graph, op: Op) -> np.ndarray:
    return np.ascontiguousarray(graph.consts[op.attrs["mask"]].astype("<u4")).view(np.uint8).reshape(-1)


def _sign_stream(graph: Graph, op: Op) -> np.ndarray | None:
    """Sign bits (1 = -1) of the connections, in row / word / bit order; None if all +1."""
    m = graph.consts[op.attrs["mask"]].reshape(-1)
    w = graph.consts[op.attrs["weight"]].reshape(-1)
    n = m.size * 32
    neg = bits.unpack(w, n)[bits.unpack(m, n)]
    return bits.pack(neg) if neg.any() else None


def _word_list(graph: Graph, op: Op) -> dict[str, np.ndarray] | None:
    """The words format's arrays, or None when a row is too long for 16-bit indices."""
    m = graph.consts[op.attrs["mask"]]
    m = m.reshape(m.shape[0], -1)
    if m.shape[1] > 1 << 16:
        return None
    rows, cols = np.nonzero(m)  # row-major: each row's words in order
    return {"ends": np.cumsum(np.count_nonzero(m, axis=1)).astype(np.uint32),
            "index": cols.astype(np.uint16),
            "wmask": m[rows, cols].astype(np.uint32),
            "wsign": graph.consts[op.attrs["weight"]].reshape(m.shape)[rows, cols].astype(np.uint32)}


def _huffman(graph: Graph, op: Op, code) -> tuple[np.ndarray, np.ndarray | None]:
    stream, _ = huffman.encode(code, _mask_bytes(graph, op))
    return np.append(stream, np.uint32(0)), _sign_stream(graph, op)  # the decoder reads one word ahead


def _nbytes(*arrays) -> int:
    return sum(a.nbytes for a in arrays if a is not None)


def run(graph: Graph, weights: str = "size") -> Graph:
    sparse = [op for op in graph.ops if OPS[op.kind].sparse_kernels and "mask" in op.attrs
              and "format" not in op.attrs]
    for op in graph.ops:
        if OPS[op.kind].binary_weights and "mask" not in op.attrs:
            op.attrs.setdefault("format", "bits")
    if not sparse:
        return graph
    if weights not in POLICIES:
        raise EdgebnnError(f"unknown weights policy '{weights}': use one of {', '.join(POLICIES)}")
    code = huffman.build(np.concatenate([_mask_bytes(graph, op) for op in sparse])) if weights == "size" else None
    for op in sparse:
        forms = {"masked": _nbytes(graph.consts[op.attrs["weight"]], graph.consts[op.attrs["mask"]])}
        words = _word_list(graph, op)
        if words is not None:
            forms["words"] = _nbytes(*words.values())
        if weights == "size":
            stream, signs = _huffman(graph, op, code)
            forms["huffman"] = _nbytes(stream, signs)
        # ties go to the faster form (dict order: masked, words, huffman)
        op.attrs["format"] = fmt = min(forms, key=forms.get)
        if fmt == "words":
            for key, value in words.items():
                op.attrs[key] = graph.add_const(graph.fresh(f"{key}"), value)
        elif fmt == "huffman":
            _use_huffman(graph, op, stream, signs)
    if any(op.attrs["format"] == "huffman" for op in sparse):
        for name, value in zip(HUFFMAN_TABLE, (code.first, code.count, code.offset, code.symbols)):
            graph.add_const(name, value)
        graph.consts["huff_max_len"] = np.array(code.max_len, np.int32)
    return graph


def _use_huffman(graph: Graph, op: Op, stream: np.ndarray, signs: np.ndarray | None) -> None:
    op.attrs["code"] = graph.add_const(graph.fresh("huff_code"), stream)
    op.attrs["signs"] = None if signs is None else graph.add_const(graph.fresh("huff_signs"), signs)
    # scratch: the decoder's 256-entry table; convolutions also decode one output
    # channel's mask and sign words once for all pixels
    words = LUT_WORDS + OPS[op.kind].huffman_scratch_words(graph, op)
    scratch = graph.fresh("scratch")
    graph.add_tensor(scratch, "bits", (32 * words,))
    op.outputs.append(scratch)
