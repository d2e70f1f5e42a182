"""The intermediate representation: typed tensors in a graph of ops (graph.py) and the op
kinds, one module each (ops/); what every stage shares about them: bit packing (bits.py),
float32 step programs (chain.py), the optimised kernels' weight layouts (weight_layouts.py,
float_threshold.py), and the numpy executor every back end is checked against (reference.py)."""
from .graph import DTYPES, Graph, Op, Tensor

__all__ = ["DTYPES", "Graph", "Op", "Tensor"]
