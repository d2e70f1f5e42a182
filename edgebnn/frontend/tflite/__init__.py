"""`.tflite` in: plain TFLite exports and Larq Compute Engine files, lowered to the ONNX graph
the ONNX frontend reads (see convert.py)."""
from __future__ import annotations

from pathlib import Path

import onnx

from .graph import to_onnx
from .reader import is_tflite, read


def is_tflite_file(path) -> bool:
    """True when the file carries the TFLite flatbuffer identifier (bytes 4..8), whatever its suffix."""
    try:
        with open(path, "rb") as f:
            return is_tflite(f.read(8))
    except (OSError, TypeError):
        return False


def load_proto(path) -> tuple[onnx.ModelProto, str]:
    """(the lowered ONNX model, display name) of a .tflite file."""
    path = Path(path)
    model = read(path.read_bytes(), path.name)
    model.name = path.stem
    return to_onnx(model), path.stem


__all__ = ["is_tflite_file", "load_proto", "read", "to_onnx"]
