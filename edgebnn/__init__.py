"""edgebnn: binary and sparse-binary neural networks from ONNX to exact C for microcontrollers."""
__version__ = "0.1.0"

from .errors import EdgebnnError  # noqa: E402
from .frontend import load  # noqa: E402
from .compiler import CompiledModel, compile, reference  # noqa: E402

__all__ = ["CompiledModel", "EdgebnnError", "compile", "load", "reference", "__version__"]
