"""Larq Compute Engine's custom ops as ONNX nodes.

LCE packs ±1 values as edgebnn does (int32 words, 32 channels per word along the last axis,
channel 32k+j at bit j, a 1 bit for -1, spare bits 0), so a packed tensor is lowered to the ±1
float tensor it stands for and the frontend packs it again. ``LceBconv2d`` computes
``dot = K - 2 * popcount`` over K = kh * kw * channels_in taps, then either
``multiplier * clamp(dot) + bias`` (float output) or ``bit = popcount > threshold``
(bit-packed output), i.e. +1 where ``dot >= K - 2 * threshold``.
"""
from __future__ import annotations

import numpy as np

from ...errors import EdgebnnError
from . import options
from .builtins import hw, nhwc, out
from .convert import Lowering

HANDLERS = {}
BCONV_KEYS = ("channels_in", "dilation_height_factor", "dilation_width_factor", "fused_activation_function",
              "pad_values", "padding", "stride_height", "stride_width")
POOL_KEYS = ("filter_height", "filter_width", "padding", "stride_height", "stride_width")


def handles(kind):
    def register(fn):
        HANDLERS[kind] = fn
        return fn
    return register


@handles("LceQuantize")
def quantize(low: Lowering, op) -> None:
    """+1 where x >= 0 (0 and -0 included), -1 elsewhere."""
    x = op.inputs[0]
    ge = low.node("GreaterOrEqual", [low.input(x, op), low.init(np.float32(0), "zero")], op)
    low.node("Where", [ge, low.init(np.float32(1), "one"), low.init(np.float32(-1), "minus_one")], op, out(low, op))
    low.shapes[op.outputs[0]] = low.shape(x)
    _check_packed(low, op, op.outputs[0], low.shape(x)[-1] if low.shape(x) else 0)


@handles("LceDequantize")
def dequantize(low: Lowering, op) -> None:
    low.node("Identity", [low.input(op.inputs[0], op)], op, out(low, op))
    low.shapes[op.outputs[0]] = low.shape(op.inputs[0])


def unpack(words: np.ndarray, channels: int) -> np.ndarray:
    """Packed int32 words (..., ceil(C / 32)) as ±1 floats (..., C): bit 1 is -1."""
    bits = (words.astype(np.int64)[..., None] >> np.arange(32)) & 1
    bits = bits.reshape(words.shape[:-1] + (-1,))[..., :channels]
    return (1 - 2 * bits).astype(np.float32)


@handles("LceBconv2d")
def bconv2d(low: Lowering, op) -> None:
    where = low.where(op)
    o = options.ints(op.options, BCONV_KEYS, op.opcode, where)
    x, c = op.inputs[0], o["channels_in"]
    words = low.const(op.inputs[1], op, "the filter")
    shape = low.shape(x)
    if words.ndim != 4 or words.dtype != np.int32 or c < 1 or len(shape) != 4 or shape[3] != c:
        raise EdgebnnError(f"LceBconv2d filter of shape {list(words.shape)} ({words.dtype}) does not match "
                           f"channels_in {c} and the input of shape {list(shape)}", where)
    if words.shape[3] != -(-c // 32):
        raise EdgebnnError(f"LceBconv2d with {words.shape[3]} filter words for {c} input channels is a grouped "
                           "binary convolution; edgebnn compiles ungrouped ones", where)
    if o["pad_values"] not in (0, 1):
        raise EdgebnnError(f"LceBconv2d pad_values {o['pad_values']}: LCE takes 0 and 1", where)
    m, kh, kw = words.shape[:3]
    weight = unpack(words, c).transpose(0, 3, 1, 2)  # OHWI -> OIHW
    stride = [o["stride_height"], o["stride_width"]]
    dilation = [o["dilation_height_factor"], o["dilation_width_factor"]]
    pads = low.pads(o["padding"], hw(low, x, op), [kh, kw], stride, dilation, op, where)
    a = low.to_nchw(x, op)
    if o["pad_values"] == 1 and any(pads):  # +1 taps: an explicit Pad, as a plain export writes it
        a = low.node("Pad", [a, low.init(np.array([0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]], np.int64),
                                         "pads"), low.init(np.float32(1), "one")], op)
        pads = [0, 0, 0, 0]
    dot = low.node("Conv", [a, low.init(weight, "w")], op, kernel_shape=[kh, kw], strides=stride,
                   dilations=dilation, pads=pads)
    k = kh * kw * c
    ins = op.inputs + [-1] * (5 - len(op.inputs))
    if ins[4] >= 0:  # bit-packed output
        t = low.const(ins[4], op, "the thresholds").astype(np.int64).reshape(-1)
        if t.size != m:
            raise EdgebnnError(f"LceBconv2d has {t.size} thresholds for {m} output channels", where)
        cut = np.clip(k - 2 * t, -k - 1, k + 1).astype(np.float32).reshape(1, m, 1, 1)
        ge = low.node("GreaterOrEqual", [dot, low.init(cut, "cut")], op)
        pm = low.node("Where", [ge, low.init(np.float32(1), "one"), low.init(np.float32(-1), "minus_one")], op)
        low.node("Transpose", [pm], op, out(low, op), perm=[0, 2, 3, 1])
        low.shapes[op.outputs[0]] = (1,) + tuple(low.shape(op.outputs[0])[1:3]) + (m,)
        _check_packed(low, op, op.outputs[0], m)
        return
    mul = low.const(ins[2], op, "the post-activation multiplier").astype(np.float32).reshape(-1)
    bias = low.const(ins[3], op, "the post-activation bias").astype(np.float32).reshape(-1)
    if mul.size != m or bias.size != m:
        raise EdgebnnError(f"LceBconv2d has {mul.size} multipliers and {bias.size} biases for {m} output "
                           "channels", where)
    # LCE clamps the integer dot, then computes in its own float order: 2 * popcount = K - dot,
    # times -multiplier, plus (bias + K * multiplier) rounded once from double.
    y = low.activation(dot, o["fused_activation_function"], op)
    y = low.node("Sub", [low.init(np.float32(k), "k"), y], op)
    y = low.node("Mul", [y, low.init(-mul.reshape(1, m, 1, 1), "mul")], op)
    shift = (bias.astype(np.float64) + k * mul.astype(np.float64)).astype(np.float32)
    y = low.node("Add", [y, low.init(shift.reshape(1, m, 1, 1), "bias")], op)
    nhwc(low, y, 0, op)


@handles("LceBMaxPool2d")
def bmaxpool2d(low: Lowering, op) -> None:
    """Max-pooling of ±1 values (an AND of the bits); padded taps are skipped."""
    where = low.where(op)
    o = options.ints(op.options, POOL_KEYS, op.opcode, where)
    x = op.inputs[0]
    kernel, stride = [o["filter_height"], o["filter_width"]], [o["stride_height"], o["stride_width"]]
    pads = low.pads(o["padding"], hw(low, x, op), kernel, stride, (1, 1), op, where)
    y = low.node("MaxPool", [low.to_nchw(x, op)], op, kernel_shape=kernel, strides=stride, pads=pads)
    nhwc(low, y, 0, op)
    c = low.shape(x)[3]
    low.shapes[op.outputs[0]] = (1,) + tuple(low.shape(op.outputs[0])[1:3]) + (c,)
    _check_packed(low, op, op.outputs[0], c)


def _check_packed(low: Lowering, op, t: int, channels: int) -> None:
    """The file's packed shape holds ceil(channels / 32) words on its last axis."""
    packed = low.tensor(t).shape
    if not packed or packed[-1] != -(-channels // 32) or low.tensor(t).type != 2:
        raise EdgebnnError(f"{op.opcode} output of shape {list(packed)} ({low.tensor(t).type_name}) does not hold "
                           f"{channels} bit-packed channels", low.where(op))
