"""Element-wise activations on one computed tensor: each becomes a float step of the value's
chain (chain.py), so it runs in the kernel that already applies the chain, or folds into the
integer threshold of a binarizer after it, at no cost of its own.

A binary value (±s, or a TwoLevel pair) keeps its two levels when the activation is the
same for every channel: Clip(0, 1) of ±1 is {1, 0}."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..ir import chain as chains
from ..errors import EdgebnnError
from . import custom, elementwise
from .ops import const, handles, per_sample
from .values import Const, TwoLevel


def _steps(ctx, node, ins) -> list[tuple[str, np.ndarray | float]]:
    """(step, constant) of the activation, constants still to broadcast onto the value."""
    op_type = node.op_type
    if op_type == "LeakyRelu":
        return [("prelu", float(custom.attr(node, "alpha", 0.01)))]
    if op_type == "PRelu":
        return [("prelu", const(ins[1], node, "the slope"))]
    if op_type == "Neg":
        return [("mul", -1.0)]
    if op_type in ("Sigmoid", "Tanh"):
        return [(op_type.lower(), 0.0)]
    if op_type == "Clip":
        if ctx.opset < 11:
            lo, hi = custom.attr(node, "min", None), custom.attr(node, "max", None)
        else:
            lo, hi = (const(v, node, "min and max") if v is not None else None
                      for v in (list(ins[1:3]) + [None, None])[:2])
        return [(s, b) for s, b in (("max", lo), ("min", hi)) if b is not None]
    return [(op_type.lower(), const(ins[1], node, "one constant input"))]  # Max / Min, see _operands


def _operands(node, ins) -> list:
    """Max / Min: the computed input first, then the constant; the rest: as given."""
    if node.op_type not in ("Max", "Min"):
        return ins
    computed = [v for v in ins if not isinstance(v, Const)]
    if len(ins) != 2 or len(computed) != 1:
        raise EdgebnnError(f"{node.op_type} of {len(ins)} inputs: edgebnn takes two", node.name)
    return computed + [v for v in ins if isinstance(v, Const)]


@handles("LeakyRelu", "PRelu", "Neg", "Sigmoid", "Tanh", "Clip", "Max", "Min")
def op_activation(ctx, node, ins):
    if node.op_type in ("Max", "Min") and len(ins) == 2 and not any(isinstance(v, Const) for v in ins):
        return [elementwise.combine(ctx, node, *ins)]
    ins = _operands(node, ins)
    value, steps = ins[0], _steps(ctx, node, ins)
    if isinstance(value, TwoLevel) and all(np.size(c) == 1 for _, c in steps):
        flat = tuple((s, np.float32(np.asarray(c).reshape(-1)[0])) for s, c in steps)
        return [value.mapped(lambda v: float(chains.apply(flat, np.float32(v))))]
    real = ctx.builder.as_real(value, node.name)
    new = tuple(chains.step(s, per_sample(np.asarray(c, np.float32), real.shape, node), real.shape[1:])
                for s, c in steps)
    return [replace(real, chain=real.chain + new)]
