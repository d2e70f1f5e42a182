"""TFLite builtin ops as ONNX nodes, one handler per op: ``handler(low, op)``.

Windowed ops read an NCHW transpose of their input and write NHWC back (tf2onnx's layout);
element-wise ops and reshapes act on the NHWC values as TFLite does.
"""
from __future__ import annotations

import numpy as np

from ...errors import EdgebnnError
from .convert import TO_NCHW, TO_NHWC, Lowering

HANDLERS = {}


def handles(*kinds):
    def register(fn):
        for k in kinds:
            HANDLERS[k] = fn
        return fn
    return register


def out(low: Lowering, op) -> str:
    return low.value(op.outputs[0])


def nhwc(low: Lowering, y: str, code: int, op) -> None:
    """An NCHW result, its fused activation applied, transposed back to NHWC."""
    y = low.activation(y, code, op)
    low.node("Transpose", [y], op, out(low, op), perm=TO_NHWC)


def hw(low: Lowering, t: int, op) -> tuple:
    shape = low.shape(t)
    if len(shape) != 4 or shape[0] != 1:
        raise EdgebnnError(f"{op.opcode} needs an NHWC input of batch 1, got shape {list(shape)}", low.where(op))
    return shape[1:3]


# -- convolutions -------------------------------------------------------------------------
@handles("CONV_2D", "DEPTHWISE_CONV_2D")
def conv(low: Lowering, op) -> None:
    o, x = op.options, op.inputs[0]
    w = low.const(op.inputs[1], op, "the filter").astype(np.float32)
    dilation, extra = (o["dilation_h"], o["dilation_w"]), [0, 0, 0, 0]
    if x in low.space_to_batch:  # a dilated conv as TensorFlow writes it (SPACE_TO_BATCH_ND ...)
        if dilation != (1, 1) or o["padding"] != 1:
            raise EdgebnnError(f"{op.opcode} after SPACE_TO_BATCH_ND must be VALID and undilated", low.where(op))
        x, dilation, extra = low.space_to_batch[x]
        low.dilated.add(op.outputs[0])
    c = low.shape(x)[3] if len(low.shape(x)) == 4 else 0
    if w.ndim != 4:
        raise EdgebnnError(f"{op.opcode} filter of shape {list(w.shape)}: expected 4 dimensions", low.where(op))
    if op.opcode == "DEPTHWISE_CONV_2D":
        weight, groups = w.transpose(3, 0, 1, 2), c  # (1, kh, kw, C*m) -> (C*m, 1, kh, kw)
    else:
        weight, groups = w.transpose(0, 3, 1, 2), c // max(w.shape[3], 1)
    if groups < 1 or weight.shape[0] % groups or weight.shape[1] * groups != c:
        raise EdgebnnError(f"{op.opcode} filter of shape {list(w.shape)} does not match {c} input channels",
                           low.where(op))
    kernel, stride = list(weight.shape[2:]), [o["stride_h"], o["stride_w"]]
    pads = low.pads(o["padding"], hw(low, x, op), kernel, stride, dilation, op, low.where(op))
    pads = [p + e for p, e in zip(pads, extra)]
    inputs = [low.to_nchw(x, op), low.init(weight, "w")]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        inputs.append(low.init(low.const(op.inputs[2], op, "the bias").astype(np.float32).reshape(-1), "b"))
    y = low.node("Conv", inputs, op, kernel_shape=kernel, strides=stride, dilations=list(dilation), pads=pads,
                 group=groups)
    nhwc(low, y, o["activation"], op)


@handles("SPACE_TO_BATCH_ND")
def space_to_batch(low: Lowering, op) -> None:
    """Kept aside: the CONV_2D reading it becomes a dilated convolution."""
    block = low.const(op.inputs[1], op, "the block shape").reshape(-1)
    pads = low.const(op.inputs[2], op, "the paddings").reshape(-1)
    if block.size != 2 or pads.size != 4 or min(block) < 1 or min(pads) < 0:
        raise EdgebnnError("SPACE_TO_BATCH_ND needs a 2-D block and paddings", low.where(op))
    low.space_to_batch[op.outputs[0]] = (op.inputs[0], tuple(int(b) for b in block),
                                         [int(pads[0]), int(pads[2]), int(pads[1]), int(pads[3])])


@handles("BATCH_TO_SPACE_ND")
def batch_to_space(low: Lowering, op) -> None:
    crops = low.const(op.inputs[2], op, "the crops").reshape(-1)
    if op.inputs[0] not in low.dilated or np.any(crops != 0):
        raise EdgebnnError("BATCH_TO_SPACE_ND is supported only closing a dilated convolution without crops "
                           "(SPACE_TO_BATCH_ND, CONV_2D, BATCH_TO_SPACE_ND)", low.where(op))
    low.node("Identity", [low.value(op.inputs[0])], op, out(low, op))


# -- pooling ---------------------------------------------------------------------------------
@handles("MAX_POOL_2D", "AVERAGE_POOL_2D")
def pool(low: Lowering, op) -> None:
    o, x = op.options, op.inputs[0]
    kernel, stride = [o["filter_h"], o["filter_w"]], [o["stride_h"], o["stride_w"]]
    pads = low.pads(o["padding"], hw(low, x, op), kernel, stride, (1, 1), op, low.where(op))
    attrs = dict(kernel_shape=kernel, strides=stride, pads=pads)
    if op.opcode == "AVERAGE_POOL_2D":  # TFLite averages over the taps inside the image
        y = low.node("AveragePool", [low.to_nchw(x, op)], op, count_include_pad=0, **attrs)
    else:
        y = low.node("MaxPool", [low.to_nchw(x, op)], op, **attrs)
    nhwc(low, y, o["activation"], op)


@handles("MEAN")
def mean(low: Lowering, op) -> None:
    x = op.inputs[0]
    axes = sorted(int(a) % max(len(low.shape(x)), 1) for a in low.const(op.inputs[1], op, "the axes").reshape(-1))
    keep = int(bool(op.options.get("keep_dims")))
    if len(low.shape(x)) == 4 and axes == [1, 2]:  # global average pooling
        y = low.node("ReduceMean", [low.to_nchw(x, op)], op, axes=[2, 3], keepdims=keep)
        if keep:
            low.node("Transpose", [y], op, out(low, op), perm=TO_NHWC)
        else:
            low.node("Identity", [y], op, out(low, op))
        return
    low.node("ReduceMean", [low.input(x, op)], op, out(low, op), axes=axes, keepdims=keep)


# -- padding ---------------------------------------------------------------------------------
@handles("PAD", "PADV2")
def pad(low: Lowering, op) -> None:
    x = op.inputs[0]
    pads = low.const(op.inputs[1], op, "the paddings").astype(np.int64)
    rank = len(low.shape(x))
    if pads.shape != (rank, 2) or np.any(pads < 0):
        raise EdgebnnError(f"{op.opcode} paddings of shape {list(pads.shape)} for a rank-{rank} input", low.where(op))
    fill = 0.0
    if op.opcode == "PADV2" and len(op.inputs) > 2 and op.inputs[2] >= 0:
        fill = float(low.const(op.inputs[2], op, "the pad value").reshape(-1)[0])
    value = low.init(np.float32(fill), "fill")
    if rank == 4 and not pads[0].any():
        nchw = pads[TO_NCHW]
        padded = low.node("Pad", [low.to_nchw(x, op), low.init(np.concatenate([nchw[:, 0], nchw[:, 1]]), "pads"),
                                  value], op)
        if not pads[3].any():  # spatial: a window op reads the NCHW form; the NHWC one as tf2onnx writes it
            low.nchw[op.outputs[0]] = padded
            if not (pads[1].any() and pads[2].any()):  # no NHWC spelling the ONNX frontend reads
                low.nchw_only.add(op.outputs[0])
                return
        else:  # channels (a shortcut's zero channels): NHWC again
            low.node("Transpose", [padded], op, out(low, op), perm=TO_NHWC)
            return
    onnx_pads = low.init(np.concatenate([pads[:, 0], pads[:, 1]]), "pads")
    low.node("Pad", [low.input(x, op), onnx_pads, value], op, out(low, op))


# -- dense and shape plumbing ----------------------------------------------------------------
@handles("FULLY_CONNECTED")
def fully_connected(low: Lowering, op) -> None:
    o, x = op.options, op.inputs[0]
    w = low.const(op.inputs[1], op, "the weights").astype(np.float32)
    if w.ndim != 2 or o.get("weights_format", 0) != 0:
        raise EdgebnnError(f"FULLY_CONNECTED weights of shape {list(w.shape)} (format "
                           f"{o.get('weights_format', 0)}): expected a plain (N, K) matrix", low.where(op))
    n, k = w.shape
    shape = low.shape(x)
    if int(np.prod(shape)) != k:
        raise EdgebnnError(f"FULLY_CONNECTED input of shape {list(shape)} does not hold {k} features "
                           "for a batch of 1", low.where(op))
    a = low.input(x, op)
    if tuple(shape) != (1, k):
        a = low.node("Reshape", [a, low.init(np.array([1, k], np.int64), "shape")], op)
    inputs = [a, low.init(w, "w")]
    if len(op.inputs) > 2 and op.inputs[2] >= 0:
        inputs.append(low.init(low.const(op.inputs[2], op, "the bias").astype(np.float32).reshape(-1), "b"))
    y = low.activation(low.node("Gemm", inputs, op, transB=1), o["activation"], op)
    target = low.shape(op.outputs[0])
    if tuple(target) != (1, n):
        y = low.node("Reshape", [y, low.init(np.array(target, np.int64), "shape")], op)
    low.node("Identity", [y], op, out(low, op))


@handles("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def reshape(low: Lowering, op) -> None:
    target = low.shape(op.outputs[0])
    if int(np.prod(target)) != int(np.prod(low.shape(op.inputs[0]))):
        raise EdgebnnError(f"{op.opcode} from {list(low.shape(op.inputs[0]))} to {list(target)} changes the "
                           "number of elements", low.where(op))
    low.node("Reshape", [low.input(op.inputs[0], op), low.init(np.array(target, np.int64), "shape")], op,
             out(low, op))


@handles("SOFTMAX")
def softmax(low: Lowering, op) -> None:
    x = low.input(op.inputs[0], op)
    beta = float(op.options.get("beta", 1.0))
    if beta != 1.0:
        x = low.node("Mul", [x, low.init(np.float32(beta), "beta")], op)
    low.node("Softmax", [x], op, out(low, op), axis=-1)


@handles("CONCATENATION")
def concatenation(low: Lowering, op) -> None:
    shapes = [low.shape(t) for t in op.inputs]
    rank = len(shapes[0])
    axis = int(op.options["axis"])
    if not -rank <= axis < rank:
        raise EdgebnnError(f"CONCATENATION axis {axis} of rank-{rank} inputs", low.where(op))
    axis %= rank
    if rank == 4 and axis == 3:  # channels: concatenated in NCHW, as tf2onnx does
        y = low.node("Concat", [low.to_nchw(t, op) for t in op.inputs], op, axis=1)
        nhwc(low, y, op.options["activation"], op)
        return
    y = low.node("Concat", [low.input(t, op) for t in op.inputs], op, axis=axis)
    low.activation(y, op.options["activation"], op, out(low, op))


# -- element-wise ---------------------------------------------------------------------------
ARITH = {"ADD": "Add", "SUB": "Sub", "MUL": "Mul", "DIV": "Div"}
UNARY = {"RELU": "Relu", "SIGN": "Sign", "LOGISTIC": "Sigmoid", "TANH": "Tanh"}
CLIPS = {"RELU6": (0.0, 6.0), "RELU_N1_TO_1": (-1.0, 1.0)}


@handles(*ARITH)
def arith(low: Lowering, op) -> None:
    y = low.node(ARITH[op.opcode], [low.input(t, op) for t in op.inputs[:2]], op)
    low.activation(y, op.options["activation"], op, out(low, op))


@handles(*UNARY)
def unary(low: Lowering, op) -> None:
    low.node(UNARY[op.opcode], [low.input(op.inputs[0], op)], op, out(low, op))


@handles(*CLIPS)
def clip(low: Lowering, op) -> None:
    lo, hi = CLIPS[op.opcode]
    low.node("Clip", [low.input(op.inputs[0], op), low.init(np.float32(lo), "lo"), low.init(np.float32(hi), "hi")],
             op, out(low, op))


@handles("PRELU")
def prelu(low: Lowering, op) -> None:
    low.node("PRelu", [low.input(op.inputs[0], op), low.input(op.inputs[1], op)], op, out(low, op))


@handles("DEQUANTIZE")
def dequantize(low: Lowering, op) -> None:
    """Only a float16 constant reaches here (convert.check_quantized refuses the rest)."""
    low.folded[op.outputs[0]] = low.const(op.inputs[0], op, "its input").astype(np.float32)
