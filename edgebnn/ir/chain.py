"""Element-wise float32 programs: the per-channel Mul/Add/Sub/Div/BatchNorm steps and the
activations (ReLU-like, Clip, PReLU, Sigmoid, Tanh) that sit between a layer's accumulator
and the next binarizer or the output.

A chain is a tuple of ``(op, const)`` steps with ``const`` a float32 array shaped like
the tensor it acts on (per inference).  Steps run in graph order, each rounded to
float32, so the C, the reference and onnxruntime compute the same floats.
"""
from __future__ import annotations

import numpy as np

STEPS = ("mul", "add", "sub", "div", "rsub", "rdiv", "abs", "max", "min", "prelu", "sigmoid", "tanh")


def apply(chain, x: np.ndarray) -> np.ndarray:
    """Run the chain on ``x`` (float32, trailing axes shaped like the consts)."""
    v = x.astype(np.float32)
    with np.errstate(all="ignore"):
        for op, c in chain:
            if op == "mul":
                v = v * c
            elif op == "add":
                v = v + c
            elif op == "sub":
                v = v - c
            elif op == "div":
                v = v / c
            elif op == "rsub":
                v = c - v
            elif op == "rdiv":
                v = c / v
            elif op == "abs":  # XNOR-Net's activation scale; c is unused
                v = np.abs(v)
            elif op == "max":  # ReLU (c = 0), Clip's lower bound: v < c ? c : v, as the C
                v = np.where(v < c, c, v)
            elif op == "min":  # Clip's upper bound
                v = np.where(v > c, c, v)
            elif op == "prelu":  # PRelu / LeakyRelu, c the slope
                v = np.where(v < 0, v * c, v)
            elif op in ("sigmoid", "tanh"):  # in double, rounded once, as the C (c unused)
                d = v.astype(np.float64)
                v = 1.0 / (1.0 + np.exp(-d)) if op == "sigmoid" else np.tanh(d)
            else:  # pragma: no cover - guarded by STEPS
                raise ValueError(op)
            v = v.astype(np.float32)
    return v


def flat(chain):
    """The chain with its constants flattened (per element in physical order)."""
    return tuple((op, c.reshape(-1)) for op, c in chain)


def step(op: str, const, shape) -> tuple[str, np.ndarray]:
    assert op in STEPS, op
    return op, np.ascontiguousarray(np.broadcast_to(np.asarray(const, np.float32), shape))


def reshape(chain, shape):
    return tuple((op, c.reshape(shape)) for op, c in chain)


def batchnorm_steps(gamma, beta, mean, var, eps, shape):
    """BatchNormalization as onnxruntime's CPU kernel computes it: one multiply by
    gamma / sqrt(var + eps) and one add of beta - mean * that scale."""
    gamma, beta, mean, var = (np.asarray(a, np.float32) for a in (gamma, beta, mean, var))
    with np.errstate(all="ignore"):
        inv_std = (np.float32(1.0) / np.sqrt(var + np.float32(eps))).astype(np.float32)
        scale = (inv_std * gamma).astype(np.float32)
        bias = (beta - mean * scale).astype(np.float32)
    return step("mul", scale, shape), step("add", bias, shape)


def table(steps, fanin: int, count: int) -> np.ndarray:
    """The chain on every accumulator value d = -fanin .. fanin: (2 * fanin + 1, count).
    ``steps`` hold one constant per column."""
    d = np.arange(-fanin, fanin + 1, dtype=np.float32)[:, None]
    return apply(steps, np.broadcast_to(d, (d.shape[0], count)))


def direction(steps, fanin: int, count: int) -> np.ndarray:
    """Per column: +1 where the chain never falls as d grows, -1 where it never rises
    (a constant counts as +1), 0 otherwise (NaN, or not monotonic)."""
    v = table(steps, fanin, count)
    diff = np.diff(v, axis=0)
    rises = np.all(diff >= 0, axis=0) & ~np.any(np.isnan(v), axis=0)
    falls = np.all(diff <= 0, axis=0) & ~np.any(np.isnan(v), axis=0)
    return np.where(rises, 1, np.where(falls, -1, 0))
