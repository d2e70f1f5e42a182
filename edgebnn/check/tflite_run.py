"""The TFLite interpreter as the independent executor of a .tflite model (`edgebnn validate`).

`ai-edge-litert` (LiteRT) is the interpreter under its current name and runs beside numpy 2;
`tflite_runtime` (its last release, 2.14, needs numpy < 2) is used where it is what is installed.
Neither runs Larq Compute Engine's custom ops: LCE files are checked in the tests against
outputs of LCE's own interpreter (tests/models/tflite/).
"""
from __future__ import annotations

import numpy as np


def interpreter_class():
    """(Interpreter class, package name), or (None, reason)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter
        return Interpreter, "tflite-runtime"
    except ImportError:  # tflite-runtime 2.14 beside numpy 2 fails in its import as well
        return None, "neither ai-edge-litert nor tflite-runtime is installed"


def custom_ops(path) -> list[str]:
    from ..frontend.tflite import read

    with open(path, "rb") as f:
        model = read(f.read(), str(path))
    return sorted({op.opcode for op in model.ops if op.custom})


def run(path, x: np.ndarray):
    """(outputs for the batch x, interpreter name), or (None, the reason it did not run)."""
    custom = custom_ops(path)
    if custom:
        return None, (f"the model uses Larq Compute Engine ops ({', '.join(custom)}), which the TFLite "
                      "interpreter does not run")
    cls, name = interpreter_class()
    if cls is None:
        return None, name
    interp = cls(model_path=str(path), num_threads=1)
    interp.allocate_tensors()
    src, dst = interp.get_input_details()[0], interp.get_output_details()[0]
    outs = []
    for row in np.asarray(x, np.float32):
        interp.set_tensor(src["index"], row.reshape(src["shape"]))
        interp.invoke()
        outs.append(interp.get_tensor(dst["index"]).copy())
    return np.concatenate(outs), name
