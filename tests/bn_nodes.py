"""A BatchNormalization node with random per-channel parameters, for tests that write their
graphs node by node with ``onnx.helper`` (test_activations.py, test_residual.py)."""
from __future__ import annotations

import numpy as np
from onnx import helper, numpy_helper


def bn_node(name, x, y, rng, inits, channels, mean=(-0.5, 0.5), var=(0.5, 2.0)):
    """BatchNormalization x -> y over ``channels``; its gamma, beta, mean and var (named
    ``{name}_g/b/m/v``) join ``inits``.  Gammas of both signs, so thresholds flip both ways."""
    gamma = rng.uniform(0.3, 1.5, channels) * rng.choice([-1, 1], channels)
    for suffix, value in (("g", gamma), ("b", rng.uniform(-0.5, 0.5, channels)),
                          ("m", rng.uniform(*mean, channels)), ("v", rng.uniform(*var, channels))):
        inits.append(numpy_helper.from_array(value.astype(np.float32), f"{name}_{suffix}"))
    return helper.make_node("BatchNormalization", [x] + [f"{name}_{s}" for s in "gbmv"], [y])
