"""Reading an ONNX file (external data too) into a checked ModelProto."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import EdgebnnError
from . import limits, tflite

# Element types an initializer may have: the plain numeric ones.
NUMERIC = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16, onnx.TensorProto.BOOL,
           onnx.TensorProto.INT8, onnx.TensorProto.UINT8, onnx.TensorProto.INT16, onnx.TensorProto.UINT16,
           onnx.TensorProto.INT32, onnx.TensorProto.UINT32, onnx.TensorProto.INT64, onnx.TensorProto.UINT64}


def read(model) -> tuple[onnx.ModelProto, str]:
    """(model, display name) from a path or a ModelProto."""
    if isinstance(model, onnx.ModelProto):
        return model, model.graph.name or "model"
    path = Path(os.fspath(model))
    check_file(path)
    if tflite.is_tflite_file(path):  # chosen by content, not by suffix
        return tflite.load_proto(path)
    try:
        proto = onnx.load(str(path), load_external_data=True)
    except Exception as exc:  # protobuf DecodeError, external data missing, ...
        raise EdgebnnError(
            f"'{path}' is not a readable ONNX model ({type(exc).__name__}); the file may be truncated "
            "or corrupt: export it again"
        ) from None
    return proto, path.stem


# A protobuf message (an ONNX file without external data) is at most 2 GiB.
MAX_FILE_BYTES = 2 << 30
# Opsets of the default domain that onnx (and so onnxruntime, the validator) knows.
MIN_OPSET, MAX_OPSET = 7, onnx.defs.onnx_opset_version()


def check_file(path: Path) -> None:
    """The model path names a readable, non-empty ONNX-sized regular file, before it is read."""
    what = f"model '{limits.printable(str(path))}'"
    try:
        st = path.stat()
    except OSError as exc:
        raise EdgebnnError(f"cannot read {what}: {exc.strerror or 'no such file'}") from None
    why = ("is a folder: give the .onnx file in it" if stat.S_ISDIR(st.st_mode) else
           "is not a regular file (a device or a pipe): give an .onnx file" if not stat.S_ISREG(st.st_mode) else
           "is empty: export the model again" if st.st_size == 0 else
           f"is {st.st_size} bytes, more than the 2 GiB an ONNX file can hold: export the weights as "
           "external data" if st.st_size > MAX_FILE_BYTES else
           "is not readable: check its permissions" if not os.access(path, os.R_OK) else None)
    if why:
        raise EdgebnnError(f"{what} {why}")


def _strings(proto: onnx.ModelProto):
    """(where, value) of every string field the frontend reads."""
    g = proto.graph
    for o in proto.opset_import:
        yield "an opset domain", o.domain
    for i, n in enumerate(g.node):
        where = f"node {i}"
        yield from ((where, s) for s in (n.name, n.op_type, n.domain, *n.input, *n.output))
        yield from ((where, a.name) for a in n.attribute)
    for t in g.initializer:
        yield "an initializer name", t.name
    for v in (*g.input, *g.output, *g.value_info):
        yield "a graph input, output or value_info name", v.name


def check_text(proto: onnx.ModelProto) -> None:
    """Protobuf strings must be UTF-8; the upb runtime hands a corrupt one over as bytes,
    which would break every name comparison (and the report) downstream."""
    for where, value in _strings(proto):
        if not isinstance(value, str):
            raise EdgebnnError(f"{where} holds a name that is not UTF-8 text ({value[:20]!r}); "
                               "the file is corrupt: export it again")


def check(proto: onnx.ModelProto) -> None:
    check_text(proto)
    if not MIN_OPSET <= opset(proto) <= MAX_OPSET:
        raise EdgebnnError(f"the model imports ONNX opset {opset(proto)}; edgebnn (and onnxruntime) take opsets "
                           f"{MIN_OPSET} to {MAX_OPSET}: export it again with one of them")
    try:  # a bit flip can leave a domain that is not UTF-8: protobuf refuses to copy it
        onnx.checker.check_model(_declared(proto))
    except Exception as exc:
        raise EdgebnnError(f"invalid ONNX model: {_first_line(exc)}; the file may be truncated or corrupt") from None
    if not proto.graph.node:
        raise EdgebnnError("the ONNX graph has no nodes; the file may be truncated")


def check_types(proto: onnx.ModelProto) -> None:
    """Element types that disagree (float16 weights on a float32 MatMul): onnxruntime refuses
    such a model, so edgebnn does too."""
    try:
        onnx.shape_inference.infer_shapes(_declared(proto), check_type=True)
    except Exception as exc:
        raise EdgebnnError(f"the model's element types do not agree: {_first_line(exc)}; export it again "
                           "with one element type (float32) for weights and activations") from None


def _declared(proto: onnx.ModelProto) -> onnx.ModelProto:
    """Brevitas exports use custom domains without declaring them: a copy that declares
    them, so the checker and type inference look at everything else."""
    missing = {n.domain for n in proto.graph.node} - {o.domain for o in proto.opset_import} - {"ai.onnx"}
    if not missing:
        return proto
    copy = onnx.ModelProto.FromString(proto.SerializeToString())
    copy.opset_import.extend(onnx.helper.make_opsetid(d, 1) for d in sorted(missing))
    return copy


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def opset(proto: onnx.ModelProto) -> int:
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return 1


def initializer(t: onnx.TensorProto) -> np.ndarray:
    """An initializer as an array, after checking its type, shape and data agree."""
    what = f"initializer '{limits.printable(t.name)}'"
    if t.data_type not in NUMERIC:
        name = onnx.TensorProto.DataType.Name(t.data_type) if t.data_type in onnx.TensorProto.DataType.values() \
            else str(t.data_type)
        raise EdgebnnError(f"{what} has element type {name}; edgebnn reads numeric initializers only")
    limits.check_shape(t.dims, what)
    try:
        value = numpy_helper.to_array(t)
    except Exception as exc:  # noqa: BLE001 - numpy/onnx raise several types for bad data
        raise EdgebnnError(f"{what} of shape {list(t.dims)} does not hold matching data "
                           f"({type(exc).__name__}); the file is corrupt: export it again") from None
    if value.size != limits.elements(t.dims):
        raise EdgebnnError(f"{what} holds {value.size} values, its shape {list(t.dims)} needs "
                           f"{limits.elements(t.dims)}; the file is corrupt: export it again")
    return value


def input_shape(vi: onnx.ValueInfoProto) -> tuple[int, ...]:
    """The input's shape, a symbolic batch axis fixed to 1 (a static batch N stays N)."""
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
    if not dims:
        raise EdgebnnError(f"input '{vi.name}' must have a batch axis first, got a scalar")
    limits.check_shape(dims, f"input '{limits.printable(vi.name)}'")
    return tuple(dims)
