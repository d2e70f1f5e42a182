"""edgebnn: binary and sparse-binary neural networks from ONNX to exact C for microcontrollers."""
from .version import __version__
from .errors import EdgebnnError
from .frontend import load
from .compiler import CompiledModel, compile, reference

__all__ = ["CompiledModel", "EdgebnnError", "compile", "load", "reference", "__version__"]
