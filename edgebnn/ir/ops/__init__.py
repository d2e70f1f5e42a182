"""The op registry: one module per IR op kind, each a small class (base.py says what it
answers).  The stages look an op up here and ask it; they do not switch on its kind.

Adding an op: a module here with its class, registered below; its C kernel in runtime_c/
(declared in ebnn_kernels.h); a test against onnxruntime (CONTRIBUTING.md, "Adding an op")."""
from __future__ import annotations

from .affine import Affine
from .argmax import ArgMax
from .avgpool import AvgPool
from .base import PORTABLE, Kernel, OpKind
from .bconv import BConv
from .bdense import BDense
from .binarize import Binarize
from .binarize_int import BinarizeInt
from .combine import Combine
from .concat import Concat
from .conv import Conv
from .dense import Dense
from .dense_binw import DenseBinW
from .ewise import Ewise
from .gather import Gather
from .maxpool import MaxPool
from .mean_rows import MeanRows
from .relu import Relu
from .scale_int import ScaleInt
from .scale_rows import ScaleRows
from .softmax import Softmax
from .threshold import Threshold
from .unpack import Unpack

OPS: dict[str, OpKind] = {cls.kind: cls() for cls in (
    Affine, ArgMax, AvgPool, BConv, BDense, Binarize, BinarizeInt, Combine, Concat, Conv, Dense, DenseBinW, Ewise,
    Gather, MaxPool, MeanRows, Relu, ScaleInt, ScaleRows, Softmax, Threshold, Unpack)}

__all__ = ["OPS", "PORTABLE", "Kernel", "OpKind"]
