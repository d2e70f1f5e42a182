"""Numeric parameters must be finite.

A NaN or an infinity in a weight, a BatchNormalization statistic, a scale or a Gemm
``alpha``/``beta`` makes onnxruntime produce NaN or saturate in ways that one integer
threshold per channel does not reproduce; rather than compile something that then
disagrees with the graph, such a model is refused, naming the node and the parameter.
"""
from __future__ import annotations

import math

import numpy as np
import onnx

from ..errors import EdgebnnError
from . import limits
from .values import Const


# Ops for which an infinite constant is an exact bound (Clip(x, -inf, 6) is min(x, 6)).
BOUNDS = ("Clip", "Max", "Min")


def check_node(node: onnx.NodeProto, ins: list, opset: int) -> None:
    """The constant inputs and float attributes of ``node`` hold finite numbers only."""
    for i, value in enumerate(ins):
        if isinstance(value, Const) and np.issubdtype(np.asarray(value.value).dtype, np.floating):
            bad = _non_finite(np.asarray(value.value))
            if bad and not (bad != "NaN" and node.op_type in BOUNDS):
                what = f"input '{_input_name(node, i, opset)}' ('{limits.printable(node.input[i])}')"
                raise EdgebnnError(f"{node.op_type} {what} holds {bad}; edgebnn compiles finite parameters "
                                   "only: fix the trained values and export again", node.name)
    for a in node.attribute:
        values = [a.f] if a.type == onnx.AttributeProto.FLOAT else list(a.floats)
        if not all(math.isfinite(v) for v in values):
            raise EdgebnnError(f"{node.op_type} attribute '{limits.printable(a.name)}' is not finite "
                               f"({values[:4]}); edgebnn compiles finite parameters only: export again with a "
                               "finite value", node.name)


def check_variance(node: onnx.NodeProto, var, eps) -> None:
    """BatchNormalization divides by sqrt(var + epsilon), in float32: it must be positive."""
    total = np.asarray(var, np.float32).reshape(-1) + np.float32(eps)
    bad = np.flatnonzero(~(total > 0))
    if bad.size:
        c = int(bad[0])
        raise EdgebnnError(f"{node.op_type} var + epsilon is {float(total[c]):g} in channel {c} ({bad.size} "
                           "channels): a variance plus epsilon must be positive; fix the trained statistics "
                           "and export again", node.name)


def check_steps(node: onnx.NodeProto, steps) -> None:
    """The per-channel scale and offset folded from the parameters stay finite in float32."""
    for _, value in steps:
        bad = _non_finite(np.asarray(value))
        if bad:
            raise EdgebnnError(f"{node.op_type} parameters give a scale or offset that overflows float32 "
                               f"({bad}); fix the trained values and export again", node.name)


def _non_finite(a: np.ndarray) -> str:
    if np.isnan(a).any():
        return "NaN"
    return "an infinity" if np.isinf(a).any() else ""


def _input_name(node: onnx.NodeProto, i: int, opset: int) -> str:
    try:
        formal = onnx.defs.get_schema(node.op_type, opset, node.domain).inputs
    except Exception:  # noqa: BLE001 - custom ops have no schema here
        return str(i)
    return formal[min(i, len(formal) - 1)].name if formal else str(i)
