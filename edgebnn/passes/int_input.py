"""Integer inputs (``input_type`` "uint8" or "int8"): the caller passes codes q, read as the
float ``x = float32(scale * (q - zero_point))`` (the product in double, rounded once).

The op that reads the input must binarize it or scale it (an affine chain); trying all 256
codes through its float32 chain gives, exactly:
- ``binarize`` -> ``binarize_int``: per element a code threshold, ``bit = (u < Q) ^ inv`` on
  ``u = q - qmin`` (the decision must change at most once as q grows);
- ``affine``   -> ``scale_int``: per element the 256 float32 results (a table).
Anything else is refused: an integer input needs a first op whose result depends on q alone.
"""
from __future__ import annotations

import numpy as np

from ..errors import EdgebnnError
from ..ir import Graph
from ..ir import chain as chains
from ..ir.graph import Op

INPUT_TYPES = ("float32", "uint8", "int8")
DTYPE = {"uint8": "u8", "int8": "i8"}
DEFAULT_SCALE = {"uint8": 1.0 / 255.0, "int8": 1.0 / 128.0}  # pixels in [0, 1], or [-1, 1)


def check_type(input_type: str) -> str:
    if input_type not in INPUT_TYPES:
        raise EdgebnnError(f"unknown input type '{input_type}': use one of {', '.join(INPUT_TYPES)}")
    return input_type


def codes(input_type: str) -> np.ndarray:
    """Every code of the type, ascending (256 values)."""
    return np.arange(-128, 128) if input_type == "int8" else np.arange(256)


def dequantize(q, scale: float, zero_point: int) -> np.ndarray:
    """The float32 the graph sees for codes q."""
    return (np.float64(np.float32(scale)) * (np.asarray(q, np.float64) - zero_point)).astype(np.float32)


def input_array(graph: Graph, x) -> np.ndarray:
    """x as the C's input type (float32, or integer codes that must fit their type)."""
    itype = graph.input_quant.get("type", "float32")
    x = np.asarray(x)
    if itype != "float32":
        info = np.iinfo(itype)
        if not (np.all(x == np.round(x)) and x.min(initial=info.min) >= info.min and x.max(initial=info.max) <= info.max):
            raise ValueError(f"the model takes {itype} codes: inputs must be integers in {info.min}..{info.max}")
    x = x.astype(np.float32 if itype == "float32" else itype)
    return x


def run(graph: Graph, input_type: str = "float32", scale=None, zero_point=None) -> Graph:
    if check_type(input_type) == "float32":
        return graph
    scale = DEFAULT_SCALE[input_type] if scale is None else float(scale)
    zero_point = 0 if zero_point is None else int(zero_point)
    lo, hi = int(codes(input_type)[0]), int(codes(input_type)[-1])
    if not (np.isfinite(np.float32(scale)) and np.float32(scale) > 0) or not lo <= zero_point <= hi:
        raise EdgebnnError(f"--input-type {input_type}: the scale must be a positive float32 and the zero point "
                           f"in {lo}..{hi} (got {scale}, {zero_point})")
    readers = graph.consumers(graph.input)
    op = readers[0] if len(readers) == 1 else None
    if op is None or op.kind not in ("binarize", "affine") or op.inputs != [graph.input]:
        what = f"'{op.name}' ({op.kind})" if op else f"{len(readers)} ops"
        raise EdgebnnError(f"--input-type {input_type}: the input must be read by one op that binarizes or scales it, "
                           f"not {what}; use --input-type float32")
    n = graph.tensors[graph.input].size
    x = np.broadcast_to(dequantize(codes(input_type), scale, zero_point)[:, None], (256, n))
    v = chains.apply(chains.flat(op.attrs["chain"]), x)
    signed = input_type == "int8"
    if op.kind == "affine":
        new = Op("scale_int", op.name, [graph.input], list(op.outputs), {"table": v, "signed": signed})
    else:
        new = _binarize(op, v, signed, input_type)
    graph.ops[graph.ops.index(op)] = new
    graph.tensors[graph.input].dtype = DTYPE[input_type]
    graph.input_quant = {"type": input_type, "scale": float(np.float32(scale)), "zero_point": zero_point}
    return graph


def _binarize(op: Op, v: np.ndarray, signed: bool, input_type: str) -> Op:
    """bit = (u < Q) ^ inv from the chain's results v (256, n) on every code."""
    t = np.asarray(op.attrs["t"], np.float32).reshape(-1)
    with np.errstate(invalid="ignore"):
        holds = v >= t if op.attrs["cmp"] == "ge" else v > t
    bit = (holds if op.attrs["invert"] else ~holds).astype(np.int8)  # 1 = -1
    step = np.diff(bit, axis=0)
    falls, rises = np.all(step <= 0, axis=0), np.all(step >= 0, axis=0)
    if not np.all(falls | rises):
        i = int(np.flatnonzero(~(falls | rises))[0])
        raise EdgebnnError(f"--input-type {input_type}: '{op.name}' binarizes input element {i} by more than one "
                           f"threshold on the integer code; use --input-type float32")
    inv = ~falls  # bits 0 then 1: the complement of (u < Q)
    q = np.where(inv, (bit == 0).sum(axis=0), bit.sum(axis=0)).astype(np.int32)
    return Op("binarize_int", op.name, list(op.inputs), list(op.outputs), {"q": q, "inv": inv, "signed": signed})
