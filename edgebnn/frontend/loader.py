"""Reading an ONNX file (external data too) into a checked ModelProto."""
from __future__ import annotations

import os
from pathlib import Path

import onnx

from ..errors import EdgebnnError


def read(model) -> tuple[onnx.ModelProto, str]:
    """(model, display name) from a path or a ModelProto."""
    if isinstance(model, onnx.ModelProto):
        return model, model.graph.name or "model"
    path = Path(os.fspath(model))
    if not path.is_file():
        raise EdgebnnError(f"cannot read model '{path}': no such file")
    try:
        proto = onnx.load(str(path), load_external_data=True)
    except Exception as exc:  # protobuf DecodeError, external data missing, ...
        raise EdgebnnError(
            f"'{path}' is not a readable ONNX model ({type(exc).__name__}); the file may be truncated "
            "or corrupt: export it again"
        ) from None
    return proto, path.stem


def check(proto: onnx.ModelProto) -> None:
    # Brevitas exports use custom domains without declaring them: declare them on a
    # copy so the checker looks at everything else.
    declared = {o.domain for o in proto.opset_import}
    missing = {n.domain for n in proto.graph.node} - declared - {"ai.onnx"}
    if missing:
        proto = onnx.ModelProto.FromString(proto.SerializeToString())
        proto.opset_import.extend(onnx.helper.make_opsetid(d, 1) for d in sorted(missing))
    try:
        onnx.checker.check_model(proto)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EdgebnnError(f"invalid ONNX model: {first}; the file may be truncated or corrupt") from None
    if not proto.graph.node:
        raise EdgebnnError("the ONNX graph has no nodes; the file may be truncated")


def opset(proto: onnx.ModelProto) -> int:
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return 1


def input_shape(vi: onnx.ValueInfoProto) -> tuple[int, ...]:
    """The input's shape with a symbolic batch axis fixed to 1."""
    t = vi.type.tensor_type
    if t.elem_type != onnx.TensorProto.FLOAT:
        raise EdgebnnError(f"input '{vi.name}' is not float32; edgebnn models take float32 input")
    dims = []
    for i, d in enumerate(t.shape.dim):
        if d.HasField("dim_value") and d.dim_value > 0:
            dims.append(int(d.dim_value))
        elif i == 0:
            dims.append(1)
        else:
            raise EdgebnnError(f"input '{vi.name}' has a non-static dimension {i}; export with a fixed shape")
    if not dims or dims[0] != 1:
        raise EdgebnnError(f"input '{vi.name}' must have a batch axis of 1 first, got {dims}")
    return tuple(dims)
