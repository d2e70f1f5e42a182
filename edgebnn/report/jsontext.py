"""Strict JSON text: NaN and infinities (which JSON cannot hold) become null."""
from __future__ import annotations

import json
import math


def finite(value):
    """``value`` with every non-finite float inside it replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    return value


def dumps(value, indent: int = 2) -> str:
    return json.dumps(finite(value), indent=indent, allow_nan=False)
