"""Proving the emitted C right: the host build (harness.py), the comparison with the reference
and onnxruntime (validate.py), and the emulated Cortex-M run (emulate.py)."""
