"""Constants as C source text: exact floats (hexadecimal), integers, and per-element
constants stored once per channel when they repeat."""
from __future__ import annotations

import math

import numpy as np


def c_float(v) -> str:
    v = float(np.float32(v))
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    if v == int(v) and abs(v) < 1 << 24 and math.copysign(1.0, v) == math.copysign(1.0, int(v) or 1.0):
        return f"{int(v)}.0f"
    return f"{v.hex()}f"  # hexadecimal: exact, so C and numpy hold the same float


def c_values(ctype: str, values: np.ndarray) -> list[str]:
    flat = np.asarray(values).reshape(-1)
    if ctype == "uint32_t":
        return [f"0x{int(v):08x}u" for v in flat]
    if ctype == "int32_t":
        return [f"{int(v)}" if v != -(1 << 31) else "INT32_MIN" for v in flat]
    if ctype in ("uint16_t", "uint8_t"):
        return [f"{int(v)}u" for v in flat]
    return [c_float(v) for v in flat]


def compress(values: np.ndarray, channels: int) -> tuple[np.ndarray, int]:
    """(the distinct part, mod) of a per-element constant read as c[i % mod]."""
    flat = np.asarray(values).reshape(-1)
    key = flat.view(np.uint32) if flat.dtype == np.float32 else flat
    if flat.size == 0 or np.all(key == key[0]):
        return flat[:1], 1
    if channels and flat.size % channels == 0 and np.array_equal(key, np.tile(key[:channels], flat.size // channels)):
        return flat[:channels], channels
    return flat, flat.size
