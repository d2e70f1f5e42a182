"""C emission: the model's C from the ops' own C calls (emitter.py), the kernel sources it
ships, and what the C costs on the target, measured with the target's compiler (sizes.py)."""
from .emitter import render

__all__ = ["render"]
