"""The QONNX / FINN custom ops edgebnn understands, with their published semantics.

- ``BipolarQuant(x, scale)`` (domains onnx.brevitas, qonnx.custom_op.general,
  finn.custom_op.general): ``where(x >= 0, 1, -1) * scale``.
- ``MultiThreshold(x, thresholds)`` (finn.custom_op.general): per channel, the
  number of thresholds ``x >= t``, times ``out_scale`` plus ``out_bias``.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ..errors import EdgebnnError

DOMAINS = ("onnx.brevitas", "qonnx.custom_op.general", "finn.custom_op.general", "finn")


def is_custom(node: onnx.NodeProto) -> bool:
    return node.domain not in ("", "ai.onnx")


# The kind of value each attribute the frontend reads must hold.
ATTR_KINDS = {
    **dict.fromkeys(("axes", "perm", "strides", "dilations", "pads", "kernel_shape"), "ints"),
    **dict.fromkeys(("axis", "allowzero", "start", "end", "to", "transA", "transB", "keepdims", "ceil_mode",
                     "count_include_pad", "group"), "int"),
    **dict.fromkeys(("alpha", "beta", "epsilon", "value", "out_scale", "out_bias"), "float"),
    **dict.fromkeys(("auto_pad", "mode", "data_layout", "out_dtype"), "string"),
}
_KIND_CHECK = {
    "ints": lambda v: isinstance(v, list) and all(isinstance(x, int) for x in v),
    "int": lambda v: isinstance(v, int),
    "float": lambda v: isinstance(v, (float, int)),
    "string": lambda v: isinstance(v, str),
}


def attr(node: onnx.NodeProto, name: str, default=None):
    for a in node.attribute:
        if a.name == name:
            value = helper.get_attribute_value(a)
            value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
            expected = ATTR_KINDS.get(name)
            if expected and not _KIND_CHECK[expected](value):
                raise EdgebnnError(f"attribute '{name}' of {node.op_type} must be {'an' if expected == 'int' else 'a'} "
                                   f"{expected[:-1] + ' list' if expected == 'ints' else expected}; the file is corrupt: "
                                   "export it again", node.name or (node.output[0] if node.output else None))
            return value
    return default


def kind(node: onnx.NodeProto) -> str:
    """'BipolarQuant' / 'MultiThreshold' or raise a clear error."""
    if node.domain in DOMAINS and node.op_type in ("BipolarQuant", "MultiThreshold"):
        return node.op_type
    raise EdgebnnError(
        f"unsupported custom op {node.domain}::{node.op_type}; edgebnn understands "
        "BipolarQuant (QONNX/Brevitas) and bipolar MultiThreshold (FINN)",
        node.name or node.output[0],
    )


def bipolar_quant(x: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return (np.where(x >= 0, 1.0, -1.0) * scale).astype(np.float32)


def multithreshold_params(node: onnx.NodeProto, thresholds: np.ndarray):
    """(per-channel threshold, value at or above it, value below it) for a bipolar
    MultiThreshold; error for more than one threshold step."""
    if thresholds.ndim != 2 or thresholds.shape[1] != 1:
        raise EdgebnnError(
            f"MultiThreshold with thresholds of shape {list(thresholds.shape)} is multi-bit; "
            "edgebnn compiles one threshold per channel (bipolar output)",
            node.name,
        )
    layout = attr(node, "data_layout", "NCHW")
    if layout not in ("NCHW", "NC"):
        raise EdgebnnError(f"MultiThreshold data_layout {layout} is not supported; use NCHW", node.name)
    scale = float(attr(node, "out_scale", 1.0))
    bias = float(attr(node, "out_bias", 0.0))
    return thresholds[:, 0].astype(np.float32), scale + bias, bias


def multithreshold(node, x: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    t, above, below = multithreshold_params(node, thresholds)
    shape = [1] * x.ndim
    if x.ndim > 1:
        shape[1] = t.shape[0]
    return np.where(x >= t.reshape(shape), above, below).astype(np.float32)


def evaluate(node: onnx.NodeProto, inputs: list[np.ndarray]) -> list[np.ndarray]:
    op = kind(node)
    if len(inputs) < 2 or inputs[0] is None or inputs[1] is None:
        raise EdgebnnError(f"{op} needs two inputs", node.name)
    if op == "BipolarQuant":
        return [bipolar_quant(inputs[0], inputs[1])]
    return [multithreshold(node, inputs[0], inputs[1])]
