"""Handlers of the convolutional ops: Conv, Pad, MaxPool, AveragePool, the global poolings and
their ReduceMean / ReduceMax spellings."""
from __future__ import annotations

import math

import numpy as np

from ..errors import EdgebnnError
from ..ir import chain as chains
from .layout import hwc_index
from .ops import channel_mean, const, handles
from .values import Bits, Padded, Real, TwoLevel


def _pair(value, default):
    v = list(value) if value is not None else [default, default]
    return (int(v[0]), int(v[1])) if len(v) == 2 else None


def geometry(ctx, node, in_hw, kernel, ceil_mode=False) -> dict:
    """kernel, stride, pad (top, left, bottom, right), dilation and output size of a 2-D window op."""
    stride = _pair(ctx.attr(node, "strides"), 1)
    dil = _pair(ctx.attr(node, "dilations"), 1)
    pads = ctx.attr(node, "pads") or [0, 0, 0, 0]
    if stride is None or dil is None or len(pads) != 4 or min(stride + dil) < 1 or min(pads) < 0:
        raise EdgebnnError("only 2-D windows with positive strides and dilations are supported", node.name)
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dil)]
    auto = ctx.attr(node, "auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        pads = [0, 0, 0, 0]
        for a in range(2):
            total = max(0, (math.ceil(in_hw[a] / stride[a]) - 1) * stride[a] + span[a] - in_hw[a])
            small, big = total // 2, total - total // 2
            pads[a], pads[a + 2] = (small, big) if auto == "SAME_UPPER" else (big, small)
    elif auto == "VALID":
        pads = [0, 0, 0, 0]
    out = []
    for a in range(2):
        room = in_hw[a] + pads[a] + pads[a + 2] - span[a]
        if room < 0:
            raise EdgebnnError(f"window of {kernel[a]} does not fit the input of {in_hw[a]}", node.name)
        n = (-(-room // stride[a]) if ceil_mode else room // stride[a]) + 1
        if ceil_mode and (n - 1) * stride[a] >= in_hw[a] + pads[a]:
            n -= 1
        out.append(n)
    return {"kernel": tuple(kernel), "stride": stride, "pad": tuple(int(p) for p in pads),
            "dilation": dil, "out_hw": tuple(out), "in_hw": tuple(in_hw)}


def spatial_input(value, node):
    if len(value.shape) != 4 or value.shape[0] != 1:
        raise EdgebnnError(f"expected an activation of shape (1, C, H, W), got {list(value.shape)}", node.name)
    return value.shape[1:]


@handles("Pad")
def op_pad(ctx, node, ins):
    value = ins[0]
    mode = ctx.attr(node, "mode", "constant")
    if ctx.opset < 11:
        pads, fill = ctx.attr(node, "pads"), float(ctx.attr(node, "value", 0.0))
    else:
        pads = const(ins[1], node, "pads").tolist()
        fill = float(const(ins[2], node, "the pad value").reshape(-1)[0]) if len(ins) > 2 and ins[2] else 0.0
    if mode == "constant" and len(pads) == 8 and min(pads) >= 0 and not any(pads[i] for i in (0, 3, 4, 7)) \
            and (pads[1] or pads[5]) and (pads[2] or pads[6]):  # H and W of NHWC, before tf2onnx's Transpose
        return [Padded(value, (pads[1], pads[2], pads[5], pads[6]), fill, nhwc=True)]
    spatial_input(value, node)
    if mode == "constant" and len(pads) == 8 and min(pads) >= 0 and not any(pads[i] for i in (0, 2, 3, 4, 6, 7)):
        from .slicing import channels  # a constant Pad of the channel axis (IR-Net's option-A shortcut)

        c = value.shape[1]
        parts = [p for p in ((-1, pads[1]), (0, c), (-1, pads[5])) if p[1]]
        return [channels(ctx, node, [value], parts, (1, c + pads[1] + pads[5]) + tuple(value.shape[2:]), fill)]
    if mode != "constant" or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
        raise EdgebnnError("only constant padding of the two spatial axes is supported", node.name)
    return [Padded(value, (pads[2], pads[3], pads[6], pads[7]), fill)]


def _pad_mode(ctx, value: Padded, node) -> int:
    """How a binary conv fills the taps of a fused Pad: 1 for +1, -1 for -1."""
    b = ctx.builder.bipolar(value.inner, node.name)
    if value.value == b.scale:
        return 1
    if value.value == -b.scale:
        return -1
    raise EdgebnnError(f"Pad value {value.value:g} before a binary Conv must be ±{b.scale:g}", node.name)


def _ungrouped(x, w: np.ndarray, groups: int, node) -> np.ndarray:
    """A grouped (or depthwise) real-valued Conv as a plain one: weights (M, C/g, kh, kw) spread
    block-diagonally over (M, C, kh, kw).  The added terms are 0 * x, which leave each float
    sum as it is (a binary convolution would count them: grouped binary Convs are refused)."""
    inner = x.inner if isinstance(x, Padded) else x
    m, per, kh, kw = w.shape
    if groups < 1 or m % groups or isinstance(inner, (TwoLevel, Bits)):
        raise EdgebnnError(f"Conv with group={groups}: edgebnn compiles grouped and depthwise convolutions of "
                           "real-valued activations only", node.name)
    full = np.zeros((m, per * groups, kh, kw), np.float32)
    out_per = m // groups
    for g in range(groups):
        full[g * out_per:(g + 1) * out_per, g * per:(g + 1) * per] = w[g * out_per:(g + 1) * out_per]
    return full


@handles("Conv")
def op_conv(ctx, node, ins):
    x, w = ins[0], const(ins[1], node, "the weight").astype(np.float32)
    groups = int(ctx.attr(node, "group", 1))
    if groups != 1:
        w = _ungrouped(x, w, groups, node)
    extra, pad_mode = (0, 0, 0, 0), 0
    if isinstance(x, Padded) and x.nhwc:
        raise EdgebnnError("a Conv reads an NHWC-padded activation without its Transpose to NCHW", node.name)
    if isinstance(x, Padded):
        if x.value != 0:
            pad_mode = _pad_mode(ctx, x, node) if isinstance(x.inner, (TwoLevel, Bits)) else None
            if pad_mode is None:
                raise EdgebnnError(f"Pad value {x.value:g} before a real-valued Conv is not supported", node.name)
        extra, x = x.pads, x.inner
    c, h, wd = spatial_input(x, node)
    if w.ndim != 4 or w.shape[1] != c:
        raise EdgebnnError(f"weight of shape {list(w.shape)} does not match {c} input channels", node.name)
    geom = geometry(ctx, node, (h + extra[0] + extra[2], wd + extra[1] + extra[3]), w.shape[2:])
    if pad_mode and any(geom["pad"]):
        raise EdgebnnError("a Conv with its own zero padding after a Pad of ±1 is not supported", node.name)
    # The fused Pad becomes the conv's padding, filled per pad_mode.
    geom["pad"] = tuple(p + e for p, e in zip(geom["pad"], extra))
    geom["in_hw"] = (h, wd)
    geom["pad_mode"] = pad_mode
    out = ctx.builder.conv(x, w, geom, node.name)
    if len(ins) > 2 and ins[2] is not None:
        bias = const(ins[2], node, "the bias").astype(np.float32).reshape(-1, 1, 1)
        out = Real(out.tensor, out.shape, out.chain + (chains.step("add", bias, out.shape[1:]),),
                   out.nonbinary_layer, out.idx)
    return [out]


@handles("MaxPool")
def op_maxpool(ctx, node, ins):
    x = ins[0]
    c, h, w = spatial_input(x, node)
    geom = geometry(ctx, node, (h, w), ctx.attr(node, "kernel_shape"), bool(ctx.attr(node, "ceil_mode", 0)))
    return [_maxpool(ctx, node, x, c, geom)]


@handles("GlobalMaxPool", "ReduceMax")
def op_global_max(ctx, node, ins):
    """GlobalMaxPool, and ReduceMax over H and W (keepdims 1 or 0): one window of H x W."""
    x = ins[0]
    axes = ctx.attr(node, "axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = const(ins[1], node, "axes").tolist()
    if node.op_type == "ReduceMax" and (len(x.shape) != 4 or sorted(a % 4 for a in (axes or [])) != [2, 3]):
        raise EdgebnnError("ReduceMax is supported over the spatial axes (axes=[2, 3]) of an activation "
                           "(1, C, H, W)", node.name)
    c, h, w = spatial_input(x, node)
    geom = {"kernel": (h, w), "stride": (1, 1), "pad": (0, 0, 0, 0), "dilation": (1, 1), "out_hw": (1, 1),
            "in_hw": (h, w)}
    pooled = _maxpool(ctx, node, x, c, geom)
    keep = node.op_type == "GlobalMaxPool" or ctx.attr(node, "keepdims", 1)
    return [pooled if keep else ctx.builder.as_real(pooled, node.name).reshaped((1, c))]


def _maxpool(ctx, node, x, c: int, geom: dict):
    shape = (1, c) + geom["out_hw"]
    b = ctx.builder
    if isinstance(x, (TwoLevel, Bits)):  # max of ±s: +s wins, an AND of the bits
        bits = b.bipolar(x, node.name)
        b.require_hwc(bits, node.name)
        out = b.emit("maxpool", node.name, [bits.tensor], **geom)
        return Bits(out, shape, bits.scale, _hwc(shape))
    if b.t(x.tensor).dtype == "i32":
        pooled = _pool_accumulators(ctx, x, geom, shape, node)
        if pooled is not None:
            return pooled
    x = ctx.builder.to_hwc_real(x, node.name)
    out = b.emit("maxpool", node.name, [x.tensor], **geom)
    return Real(out, shape, idx=_hwc(shape))


def _pool_accumulators(ctx, x: Real, geom, shape, node):
    """Max-pool integer accumulators before their chain: max where the chain rises,
    min where it falls (rounded float steps are monotone, so this is exact)."""
    c = shape[1]
    per_channel = []
    for _, k in x.chain:
        flat = k.reshape(c, -1)
        if not np.all(flat.view(np.uint32) == flat[:, :1].view(np.uint32)):
            return None
        per_channel.append(flat[:, 0])
    fanin = ctx.builder.t(x.tensor).fanin
    steps = tuple((op, k) for (op, _), k in zip(x.chain, per_channel))
    direction = chains.direction(steps, fanin, c)
    if np.any(direction == 0):
        return None
    out = ctx.builder.emit("maxpool", node.name, [x.tensor], use_min=direction < 0, **geom)
    chain = tuple(chains.step(op, k.reshape(c, 1, 1), shape[1:]) for op, k in steps)
    return Real(out, shape, chain, x.nonbinary_layer, _hwc(shape))


def _hwc(shape):
    return hwc_index(*shape[1:])


@handles("AveragePool", "GlobalAveragePool")
def op_avgpool(ctx, node, ins):
    x = ins[0]
    c, h, w = spatial_input(x, node)
    if node.op_type == "GlobalAveragePool":
        return [global_average(ctx, node, x)]
    geom = geometry(ctx, node, (h, w), ctx.attr(node, "kernel_shape"), bool(ctx.attr(node, "ceil_mode", 0)))
    return [_avgpool(ctx, node, x, c, geom)]


@handles("ReduceMean")
def op_reduce_mean(ctx, node, ins):
    v = ins[0]
    axes = ctx.attr(node, "axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        axes = const(ins[1], node, "axes").tolist()
    keep = ctx.attr(node, "keepdims", 1)
    if len(v.shape) == 4 and sorted(a % 4 for a in (axes or [])) == [2, 3]:  # global average pooling
        pooled = global_average(ctx, node, v)
        return [pooled if keep else pooled.reshaped(pooled.shape[:2])]
    return [channel_mean(ctx, node, v, axes, keep)]


def global_average(ctx, node, x) -> Real:
    """The mean over H and W of an activation (1, C, H, W): (1, C, 1, 1)."""
    c, h, w = spatial_input(x, node)
    geom = {"kernel": (h, w), "stride": (1, 1), "pad": (0, 0, 0, 0), "dilation": (1, 1), "out_hw": (1, 1),
            "in_hw": (h, w)}
    return _avgpool(ctx, node, x, c, geom)


def _avgpool(ctx, node, x, c: int, geom: dict) -> Real:
    x = ctx.builder.to_hwc_real(x, node.name)
    shape = (1, c) + geom["out_hw"]
    out = ctx.builder.emit("avgpool", node.name, [x.tensor],
                           count_pad=bool(ctx.attr(node, "count_include_pad", 0)), **geom)
    return Real(out, shape, idx=_hwc(shape))
