"""Operator options as plain dicts: builtin options tables and LCE's flexbuffer maps.

Read eagerly (inside the reader's guard), since a flatbuffer table is only decoded when a
field is asked for.
"""
from __future__ import annotations

from ...errors import EdgebnnError

# Builtin option tables: (options class in the `tflite` package, {key: accessor}).
_CONV = {"padding": "Padding", "stride_w": "StrideW", "stride_h": "StrideH",
         "dilation_w": "DilationWFactor", "dilation_h": "DilationHFactor", "activation": "FusedActivationFunction"}
TABLES = {
    "CONV_2D": ("Conv2DOptions", _CONV),
    "DEPTHWISE_CONV_2D": ("DepthwiseConv2DOptions", dict(_CONV, multiplier="DepthMultiplier")),
    "MAX_POOL_2D": ("Pool2DOptions", {"padding": "Padding", "stride_w": "StrideW", "stride_h": "StrideH",
                                      "filter_w": "FilterWidth", "filter_h": "FilterHeight",
                                      "activation": "FusedActivationFunction"}),
    "FULLY_CONNECTED": ("FullyConnectedOptions", {"activation": "FusedActivationFunction",
                                                  "weights_format": "WeightsFormat", "keep_num_dims": "KeepNumDims"}),
    "SOFTMAX": ("SoftmaxOptions", {"beta": "Beta"}),
    "ADD": ("AddOptions", {"activation": "FusedActivationFunction"}),
    "SUB": ("SubOptions", {"activation": "FusedActivationFunction"}),
    "MUL": ("MulOptions", {"activation": "FusedActivationFunction"}),
    "DIV": ("DivOptions", {"activation": "FusedActivationFunction"}),
    "CONCATENATION": ("ConcatenationOptions", {"axis": "Axis", "activation": "FusedActivationFunction"}),
    "MEAN": ("ReducerOptions", {"keep_dims": "KeepDims"}),
}
TABLES["AVERAGE_POOL_2D"] = TABLES["MAX_POOL_2D"]

# tflite::Padding and tflite::ActivationFunctionType
SAME, VALID = 0, 1
ACTIVATIONS = {0: None, 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def builtin(tflite, name: str, table) -> dict:
    """The options of builtin op ``name`` (defaults where the table is absent)."""
    spec = TABLES.get(name)
    if spec is None:
        return {}
    cls, fields = spec
    opts = getattr(tflite, cls)()
    if table is not None:
        opts.Init(table.Bytes, table.Pos)
    elif name != "MEAN":  # the schema's defaults, as the interpreter reads an absent table
        return {"padding": SAME, "stride_w": 1, "stride_h": 1, "dilation_w": 1, "dilation_h": 1,
                "activation": 0, "multiplier": 1, "beta": 1.0, "axis": 0, "keep_num_dims": False,
                "weights_format": 0}
    else:
        return {"keep_dims": False}
    return {key: getattr(opts, acc)() for key, acc in fields.items()}


def flex(data: bytes, op: str) -> dict:
    """An LCE custom op's options: a flexbuffer map of integers."""
    if not data:
        return {}
    from flatbuffers import flexbuffers

    value = flexbuffers.Loads(data)
    if not isinstance(value, dict):
        raise EdgebnnError(f"{op} options are not a flexbuffer map; the file is corrupt")
    return value


def ints(opts: dict, keys, op: str, node: str) -> dict:
    """The integer options ``keys`` of a custom op, each present."""
    out = {}
    for k in keys:
        v = opts.get(k)
        if isinstance(v, bool) or not isinstance(v, int):
            raise EdgebnnError(f"{op} option '{k}' is {'missing' if v is None else repr(v)[:20]}, "
                               "expected an integer; the file is corrupt", node)
        out[k] = v
    return out


def activation(code: int, node: str):
    if code not in ACTIVATIONS:
        raise EdgebnnError(f"fused activation {code} is not supported (edgebnn takes NONE, RELU, "
                           "RELU_N1_TO_1 and RELU6)", node)
    return ACTIVATIONS[code]
