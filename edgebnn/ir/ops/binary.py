"""What the binary layers (``bdense``, ``bconv``) share: ±1 weights packed to bits, stored
dense (``format`` "bits") or sparse ("masked", "words", "huffman": passes/encoding.py), their
report row, and the work counts of their kernels for the design assistant."""
from __future__ import annotations

import numpy as np

from ..graph import Graph, Op
from .base import OpKind

SPARSE_FORMATS = ("masked", "words", "huffman")  # kernels in runtime_c/ebnn_sparse.c
HUFFMAN_TABLE = ("huff_first", "huff_count", "huff_offset", "huff_symbols")  # shared by the model's layers
WORDS_ARRAYS = (("ends", "uint32_t"), ("index", "uint16_t"), ("wmask", "uint32_t"), ("wsign", "uint32_t"))


def weight_rows(graph: Graph, op: Op) -> np.ndarray:
    """Dense packed weights, one row of uint32 words per output channel."""
    raw = np.asarray(graph.consts[op.attrs["weight"]], np.uint32)
    return raw.reshape(raw.shape[0], -1)


def stored_bytes(graph: Graph, op: Op) -> int:
    """Flash bytes of the layer's weights in their stored form (the shared Huffman table is
    counted with the first layer that uses it)."""
    fmt = op.attrs.get("format", "float32")
    if fmt == "huffman":
        total = graph.consts[op.attrs["code"]].nbytes
        total += graph.consts[op.attrs["signs"]].nbytes if op.attrs["signs"] else 0
        first = next(o for o in graph.ops if o.attrs.get("format") == "huffman")
        table = sum(graph.consts[name].nbytes for name in HUFFMAN_TABLE if name in graph.consts)
        return total + (table if first is op else 0)
    if fmt == "words":
        return sum(graph.consts[op.attrs[k]].nbytes for k, _ in WORDS_ARRAYS)
    total = graph.consts[op.attrs["weight"]].nbytes if "weight" in op.attrs else 0
    return total + (graph.consts[op.attrs["mask"]].nbytes if fmt == "masked" else 0)


def _code_lengths(graph: Graph) -> np.ndarray:
    """Code length of every mask byte value under the model's shared canonical Huffman code."""
    count, offset, symbols = (graph.consts[k].astype(np.int64) for k in ("huff_count", "huff_offset", "huff_symbols"))
    lengths = np.zeros(256, np.int64)
    for n in range(1, len(count)):
        lengths[symbols[offset[n]:offset[n] + count[n]]] = n
    return lengths


def mask_work(graph: Graph, op: Op) -> tuple[np.ndarray, int, int, int]:
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


class BinaryLayer(OpKind):
    """A layer of ±1 weights on bits: int32 accumulators ``dot = K - 2 * mismatches``."""

    binary_weights = True
    sparse_kernels = True  # accepts a connection mask (passes.encoding picks its stored form)

    def per_output(self, graph: Graph, op: Op) -> int:
        """Weights each output element sums."""
        raise NotImplementedError

    def huffman_scratch_words(self, graph: Graph, op: Op) -> int:
        """Words of decoded weights the Huffman kernel keeps besides its table."""
        return 0

    def sources(self, graph, op):
        kernel = self.variant(op)
        sparse = ("ebnn_sparse.c",) if kernel.name in SPARSE_FORMATS else ()
        # the optimised dense and conv kernels share the vertical sums of the transposed ones
        optimized = ("ebnn_opt.h", self.opt_source, "ebnn_opt_vsum.c") if kernel.optimized else ()
        return (self.source,) + sparse + optimized

    def report(self, graph, op):
        macs = graph.tensors[op.result].size * self.per_output(graph, op)
        weights = self.weights(graph, op, macs)
        return {"binary_macs": macs, "real_macs": 0, "weights": weights, "weight_bits": weights,
                "format": op.attrs["format"], "stored_bytes": stored_bytes(graph, op)}

    def weights(self, graph: Graph, op: Op, macs: int) -> int:
        return macs

    def cost_group(self, graph, op):
        return f"{op.kind}:{op.attrs.get('format', 'bits')}"

    def huffman_call(self, em, op) -> tuple[str, str, str]:
        """(table, code, signs) arguments of a Huffman kernel."""
        g, a = em.graph, op.attrs
        table = em.huffman_table()
        code = em.const(em.p + "_code", "uint32_t", g.consts[a["code"]])
        signs = em.const(em.p + "_signs", "uint32_t", g.consts[a["signs"]]) if a["signs"] else "(const uint32_t *)0"
        return table, code, signs

    def words_arrays(self, em, op) -> str:
        return ", ".join(em.const(f"{em.p}_{k}", ctype, em.graph.consts[op.attrs[k]]) for k, ctype in WORDS_ARRAYS)

    def masked_arrays(self, em, op) -> str:
        w = em.const(em.p + "_w", "uint32_t", em.graph.consts[op.attrs["weight"]])
        m = em.const(em.p + "_m", "uint32_t", em.graph.consts[op.attrs["mask"]])
        return f"{w}, {m}"
