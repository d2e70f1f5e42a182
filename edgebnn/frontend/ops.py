"""One handler per ONNX op on non-constant inputs (constant ones are folded before).

A handler takes ``(ctx, node, ins)`` (``ins``: the symbolic input values, None for an
omitted optional input) and returns the list of output values.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..errors import EdgebnnError
from ..ir import chain as chains
from . import custom, elementwise, finite, layout
from .shapes import flatten_shape, reshape_target, squeeze_shape, unsqueeze_shape
from .values import Bits, Const, Pred, Real, TwoLevel

HANDLERS = {}


def handles(*op_types):
    def register(fn):
        for t in op_types:
            HANDLERS[t] = fn
        return fn
    return register


def const(value, node, what="this input") -> np.ndarray:
    if not isinstance(value, Const):
        raise EdgebnnError(f"{node.op_type} needs {what} to be a constant", node.name)
    return value.value


def per_sample(c: np.ndarray, shape, node) -> np.ndarray:
    """A constant broadcast against a value of (full) ``shape``, batch axis dropped."""
    c = np.asarray(c, np.float32)
    try:
        full = np.broadcast_shapes(c.shape, tuple(shape))
    except ValueError:
        full = None
    if full != tuple(shape):
        raise EdgebnnError(
            f"constant of shape {list(c.shape)} does not broadcast onto the activation of shape {list(shape)}",
            node.name,
        )
    return np.ascontiguousarray(np.broadcast_to(c, shape)[0])


def scalar(c: np.ndarray):
    """The single value of a uniform constant, else None."""
    flat = np.asarray(c).reshape(-1)
    return float(flat[0]) if flat.size and np.all(flat == flat[0]) else None


# -- shape plumbing ------------------------------------------------------------------
def reshape(value, shape, node):
    shape = tuple(int(s) for s in shape)
    if not shape or shape[0] != 1:
        raise EdgebnnError(f"{node.op_type} to shape {list(shape)} moves the batch axis; keep it first, of size 1",
                           node.name)
    return value.reshaped(shape)


@handles("Identity", "Dropout")
def op_identity(ctx, node, ins):
    return [ins[0]] + [None] * (len(node.output) - 1)


@handles("Reshape")
def op_reshape(ctx, node, ins):
    target = np.array(const(ins[1], node, "the target shape"))
    if ctx.batch > 1 and target.ndim == 1 and target.size and target[0] == ctx.batch:
        target[0] = 1  # the exported static batch, of which one sample is compiled
    return [reshape(ins[0], reshape_target(ins[0].shape, target, ctx.attr(node, "allowzero", 0), node), node)]


@handles("Flatten")
def op_flatten(ctx, node, ins):
    return [reshape(ins[0], flatten_shape(ins[0].shape, ctx.attr(node, "axis", 1), node), node)]


@handles("Squeeze", "Unsqueeze")
def op_squeeze(ctx, node, ins):
    axes = ctx.attr(node, "axes")
    if axes is None and len(ins) > 1 and ins[1] is not None:
        values = np.asarray(const(ins[1], node, "axes"))
        if values.ndim > 1 or values.size > 64 or not np.issubdtype(values.dtype, np.integer):
            raise EdgebnnError(f"{node.op_type} axes must be a list of integers, got {values.size} "
                               f"{values.dtype} values", node.name)
        axes = [int(a) for a in values.reshape(-1)]
    fn = squeeze_shape if node.op_type == "Squeeze" else unsqueeze_shape
    return [reshape(ins[0], fn(ins[0].shape, axes, node), node)]


@handles("Transpose")
def op_transpose(ctx, node, ins):
    v = ins[0]
    perm = ctx.attr(node, "perm") or list(reversed(range(len(v.shape))))
    if sorted(perm) != list(range(len(v.shape))) or perm[0] != 0:
        raise EdgebnnError(f"Transpose perm {list(perm)} must keep the batch axis first", node.name)
    if not hasattr(v, "transposed"):
        raise EdgebnnError("Transpose of a padded activation is not supported", node.name)
    return [v.transposed(list(perm))]


@handles("Shape")
def op_shape(ctx, node, ins):
    dims = np.array(ins[0].shape, np.int64)
    start, end = ctx.attr(node, "start", 0), ctx.attr(node, "end", None)
    return [Const(dims[start:end])]


@handles("Size")
def op_size(ctx, node, ins):
    return [Const(np.array(int(np.prod(ins[0].shape)), np.int64))]


# -- element-wise arithmetic ---------------------------------------------------------------
ARITH = {"Mul": ("mul", "mul"), "Add": ("add", "add"), "Sub": ("sub", "rsub"), "Div": ("div", "rdiv")}


@handles("Mul", "Add", "Sub", "Div")
def op_arith(ctx, node, ins):
    a, b = ins
    if isinstance(a, TwoLevel) and isinstance(b, TwoLevel) and a.pred is b.pred:
        return [levelwise(node, a, b)]
    if not isinstance(a, Const) and not isinstance(b, Const):
        if node.op_type == "Mul" and per_pixel(a, b):
            return [scale_by_map(ctx, node, a, b)]
        return [elementwise.combine(ctx, node, a, b)]
    value, c, step = (a, b.value, ARITH[node.op_type][0]) if isinstance(b, Const) else (b, a.value, ARITH[node.op_type][1])
    s = scalar(c)
    if s is not None and c.ndim <= len(value.shape):
        if isinstance(value, TwoLevel):
            return [value.mapped(lambda v: chains.apply(((step, np.float32(s)),), np.float32(v)))]
        if isinstance(value, Bits) and step == "mul" and s > 0:
            return [Bits(value.tensor, value.shape, float(np.float32(value.scale) * np.float32(s)))]
    real = ctx.builder.as_real(value, node.name)
    step_ = chains.step(step, per_sample(c, real.shape, node), real.shape[1:])
    return [replace(real, chain=real.chain + (step_,))]


def levelwise(node, a: TwoLevel, b: TwoLevel) -> TwoLevel:
    """Two values of one predicate, combined level by level: the zero-fix spelling of sign,
    ``s = Sign(x); s + Cast(Equal(s, 0))``, is ``s`` again (+1 at 0, as edgebnn maps it)."""
    step = ARITH[node.op_type][0]
    at = lambda u, v: float(chains.apply(((step, np.float32(v)),), np.float32(u)))  # noqa: E731
    return TwoLevel(a.pred, at(a.hi, b.hi), at(a.lo, b.lo))


def per_pixel(a, b) -> bool:
    """One of ``a``, ``b`` is a (1, 1, H, W) map and the other a (1, C, H, W) activation, C > 1."""
    shapes = sorted((tuple(a.shape), tuple(b.shape)), key=lambda s: s[1] if len(s) == 4 else 0)
    return len(shapes[0]) == len(shapes[1]) == 4 and shapes[0][1] == 1 < shapes[1][1] and \
        shapes[0][2:] == shapes[1][2:]


def scale_by_map(ctx, node, a, b) -> Real:
    """``a (1, C, H, W) * b (1, 1, H, W)``: XNOR-Net's per-pixel activation scale K."""
    if len(a.shape) == 4 and a.shape[1] == 1 and b.shape[1] != 1:
        a, b = b, a
    if len(a.shape) != 4 or tuple(b.shape) != (1, 1) + tuple(a.shape[2:]):
        raise EdgebnnError(
            f"Mul of two computed tensors of shapes {list(a.shape)} and {list(b.shape)}: only a per-pixel "
            "scale (1, 1, H, W) times an activation (1, C, H, W) is supported", node.name)
    bld = ctx.builder
    x = bld.to_hwc_real(a, node.name)
    k = bld.to_hwc_real(b, node.name)
    out = bld.emit("scale_rows", node.name, [x.tensor, k.tensor])
    return Real(out, a.shape, nonbinary_layer=x.nonbinary_layer, idx=x.idx)


@handles("Softmax", "LogSoftmax")
def op_softmax(ctx, node, ins):
    return [elementwise.softmax(ctx, node, ins[0])]


@handles("Abs")
def op_abs(ctx, node, ins):
    v = ins[0]
    if isinstance(v, TwoLevel):
        return [v.mapped(abs)]
    real = ctx.builder.as_real(v, node.name)
    return [replace(real, chain=real.chain + (chains.step("abs", 0.0, real.shape[1:]),))]


def channel_mean(ctx, node, v, axes, keep):
    """ReduceMean over the channel axis (XNOR-Net's activation scale K); spatial.py handles
    ReduceMean and sends the other axes here."""
    if len(v.shape) != 4 or [a % 4 for a in (axes or [])] != [1] or not keep:
        raise EdgebnnError("ReduceMean is supported over the channel axis (axes=[1], keepdims=1) or the "
                           "spatial axes (axes=[2, 3]) of an activation (1, C, H, W)", node.name)
    bld = ctx.builder
    x = bld.to_hwc_real(v, node.name)
    h, w = v.shape[2:]
    out = bld.emit("mean_rows", node.name, [x.tensor])
    return Real(out, (1, 1, h, w), idx=layout.hwc_index(1, h, w))


@handles("Relu")
def op_relu(ctx, node, ins):
    bld = ctx.builder
    x = bld.real(bld.as_real(ins[0], node.name), node.name)
    out = bld.emit("relu", node.name, [x.tensor])
    return [Real(out, x.shape, nonbinary_layer=x.nonbinary_layer, idx=x.idx)]


@handles("BatchNormalization")
def op_batchnorm(ctx, node, ins):
    real = ctx.builder.as_real(ins[0], node.name)
    gamma, beta, mean, var = (const(v, node, "scale, bias, mean and var") for v in ins[1:5])
    shape = real.shape
    bshape = (1, -1) + (1,) * (len(shape) - 2)
    params = [per_sample(p.reshape(bshape), shape, node) for p in (gamma, beta, mean, var)]
    eps = ctx.attr(node, "epsilon", 1e-5)
    finite.check_variance(node, var, eps)
    steps = chains.batchnorm_steps(*params, eps, shape[1:])
    finite.check_steps(node, steps)
    return [replace(real, chain=real.chain + steps)]


# -- comparisons and binarizers ---------------------------------------------------------------
SWAPPED = {"Greater": "Less", "Less": "Greater", "GreaterOrEqual": "LessOrEqual", "LessOrEqual": "GreaterOrEqual"}
# op -> (cmp on the value, value where it holds, value where it does not)
COMPARE = {
    "GreaterOrEqual": ("ge", 1.0, 0.0),
    "Greater": ("gt", 1.0, 0.0),
    "Less": ("ge", 0.0, 1.0),
    "LessOrEqual": ("gt", 0.0, 1.0),
}


@handles("Greater", "GreaterOrEqual", "Less", "LessOrEqual")
def op_compare(ctx, node, ins):
    a, b = ins
    op = node.op_type
    if isinstance(a, Const):
        a, b, op = b, a, SWAPPED[op]
    t = const(b, node, "one side to be a constant")
    cmp, hi, lo = COMPARE[op]
    if isinstance(a, TwoLevel) and scalar(t) is not None:
        return [binarize(ctx, node, a, cmp, scalar(t), hi, lo)]
    real = ctx.builder.as_real(a, node.name)
    return [TwoLevel(Pred(real, cmp, per_sample(t, real.shape, node), node.name), hi, lo)]


@handles("Equal")
def op_equal(ctx, node, ins):
    a, b = ins
    if isinstance(a, Const):
        a, b = b, a
    c = scalar(const(b, node, "one side to be a constant"))
    if not isinstance(a, TwoLevel) or c is None:
        raise EdgebnnError("Equal is supported between a binarized value and one constant", node.name)
    return [a.mapped(lambda v: float(v == np.float32(c)))]


@handles("Not")
def op_not(ctx, node, ins):
    v = ins[0]
    if not isinstance(v, TwoLevel):
        raise EdgebnnError("Not is supported on comparison results only", node.name)
    return [TwoLevel(v.pred, float(not v.hi), float(not v.lo))]


@handles("Cast")
def op_cast(ctx, node, ins):
    v = ins[0]
    to = ctx.attr(node, "to")
    if isinstance(v, TwoLevel) and to in (1, 9, 10, 11):  # float, bool, float16, double
        fn = bool if to == 9 else float
        return [TwoLevel(v.pred, float(fn(v.hi)), float(fn(v.lo)))]
    if isinstance(v, (Real, Bits)) and to == 1:
        return [v]
    raise EdgebnnError("Cast is supported between comparison results and float32 only", node.name)


@handles("Where")
def op_where(ctx, node, ins):
    cond, a, b = ins
    if not isinstance(cond, TwoLevel):
        raise EdgebnnError("Where needs a comparison of the activation as its condition", node.name)
    hi, lo = scalar(const(a, node, "both branches")), scalar(const(b, node, "both branches"))
    if hi is None or lo is None:
        raise EdgebnnError("Where branches must be single values (e.g. 1 and -1)", node.name)
    pick = lambda c: hi if c else lo  # noqa: E731
    return [TwoLevel(cond.pred, pick(cond.hi), pick(cond.lo))]


def binarize(ctx, node, value, cmp, t, hi, lo):
    """The value compared with t: hi where ``value cmp t`` holds, lo elsewhere."""
    if isinstance(value, TwoLevel):
        test = (lambda v: v >= t) if cmp == "ge" else (lambda v: v > t)
        return TwoLevel(value.pred, hi if test(value.hi) else lo, hi if test(value.lo) else lo)
    if isinstance(value, Bits) and t == 0 and hi == -lo > 0:
        return Bits(value.tensor, value.shape, hi)
    real = ctx.builder.as_real(value, node.name)
    return TwoLevel(Pred(real, cmp, per_sample(np.float32(t), real.shape, node), node.name), hi, lo)


@handles("Sign")
def op_sign(ctx, node, ins):
    # ONNX Sign(0) is 0, which bits cannot hold: edgebnn maps 0 to +1 (QONNX/Larq).
    v = ins[0]
    if isinstance(v, TwoLevel):
        return [v.mapped(np.sign)]
    return [binarize(ctx, node, v, "ge", 0.0, 1.0, -1.0)]


def op_bipolar_quant(ctx, node, ins):
    s = scalar(const(ins[1], node, "the scale"))
    if s is None:
        raise EdgebnnError("BipolarQuant with a per-channel activation scale is not supported", node.name)
    return [binarize(ctx, node, ins[0], "ge", 0.0, float(np.float32(s)), float(np.float32(-s)))]


def op_multithreshold(ctx, node, ins):
    thresholds = const(ins[1], node, "the thresholds")
    t, above, below = custom.multithreshold_params(node, thresholds)
    real = ctx.builder.as_real(ins[0], node.name)
    shape = real.shape
    tb = t.reshape((1, -1) + (1,) * (len(shape) - 2)) if len(shape) > 1 else t
    return [TwoLevel(Pred(real, "ge", per_sample(tb, shape, node), node.name), above, below)]


CUSTOM = {"BipolarQuant": op_bipolar_quant, "MultiThreshold": op_multithreshold}


# -- layers ------------------------------------------------------------------------------
def activation_rows(value, node) -> int:
    shape = value.shape
    if len(shape) < 2 or any(d != 1 for d in shape[:-1]):
        raise EdgebnnError(f"dense layer input of shape {list(shape)}: expected (1, K); add a Flatten", node.name)
    return shape[-1]


def check_k(k, w, node):
    if w.ndim != 2 or w.shape[0] != k:
        raise EdgebnnError(f"weight of shape {list(w.shape)} does not match {k} input features", node.name)


@handles("MatMul")
def op_matmul(ctx, node, ins):
    a, b = ins
    w = const(b, node, "the weight (second input)").astype(np.float32)
    k = activation_rows(a, node)
    check_k(k, w, node)
    return [ctx.builder.dense(a, w, node.name or node.output[0])]


@handles("Gemm")
def op_gemm(ctx, node, ins):
    a, b = ins[0], ins[1]
    if ctx.attr(node, "transA", 0):
        raise EdgebnnError("Gemm with transA=1 on an activation is not supported", node.name)
    w = const(b, node, "the weight (B)").astype(np.float32)
    if ctx.attr(node, "transB", 0):
        w = w.T
    k = activation_rows(a, node)
    check_k(k, w, node)
    out = ctx.builder.dense(a, np.ascontiguousarray(w), node.name or node.output[0])
    alpha, beta = ctx.attr(node, "alpha", 1.0), ctx.attr(node, "beta", 1.0)
    steps = out.chain
    if alpha != 1.0:
        steps += (chains.step("mul", np.float32(alpha), out.shape[1:]),)
    if len(ins) > 2 and ins[2] is not None:
        c = const(ins[2], node, "the bias (C)").astype(np.float32) * np.float32(beta)
        steps += (chains.step("add", per_sample(c, out.shape, node), out.shape[1:]),)
    return [replace(out, chain=steps)]
