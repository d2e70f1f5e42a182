"""The intermediate representation: typed tensors in a graph of ops (graph.py), and the
helpers every stage shares: bit packing (bits.py), float32 step programs (chain.py)."""
from .graph import DTYPES, Graph, Op, Tensor

__all__ = ["DTYPES", "Graph", "Op", "Tensor"]
