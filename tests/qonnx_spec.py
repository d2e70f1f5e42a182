"""The published QONNX / FINN custom-op semantics, rewritten into standard ONNX for onnxruntime.

This is the tests' *independent* executor for QONNX models: it shares no code with edgebnn.
It is written from the operator descriptions only:

- ``BipolarQuant(X, scale)`` (domains ``onnx.brevitas``, ``qonnx.custom_op.general``,
  ``finn.custom_op.general``): ``Y = where(X >= 0, 1, -1) * scale``; note ``X == 0`` gives
  ``+scale``.
- ``MultiThreshold(X, thresholds)`` (domain ``finn.custom_op.general``): thresholds have shape
  ``(C or 1, T)``; for each element the output is the number of thresholds ``t`` of its channel
  with ``X >= t`` (equality counts), times ``out_scale`` (default 1.0) plus ``out_bias``
  (default 0.0). The channel axis is 1 for 2-D ``(N, C)`` and for 4-D ``NCHW`` input, 3 for 4-D
  ``data_layout="NHWC"``, and the last axis for inputs of any other rank. ``out_dtype`` is an
  annotation only: the values stay float32.

Every replacement uses ops available since opset 9 (Constant, Less, Not, Where, Mul, Add, Cast,
Reshape, MatMul), so the model keeps its own default-domain opset (models older than opset 9 are
refused: upgrade them with onnx.version_converter first). NaN inputs are outside the spec.
"""
from __future__ import annotations

import copy
import itertools

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

BIPOLAR_DOMAINS = {"onnx.brevitas", "qonnx.custom_op.general", "finn.custom_op.general"}
MULTITHRESHOLD_DOMAINS = {"finn.custom_op.general", "qonnx.custom_op.general"}
CUSTOM_DOMAINS = BIPOLAR_DOMAINS | MULTITHRESHOLD_DOMAINS
MIN_OPSET = 9


class _Names:
    """Fresh tensor/node names that collide with nothing already in the graph."""

    def __init__(self, graph: onnx.GraphProto):
        used = {n.name for n in graph.node}
        for n in graph.node:
            used.update(n.input)
            used.update(n.output)
        used.update(t.name for t in graph.initializer)
        used.update(v.name for v in itertools.chain(graph.input, graph.output, graph.value_info))
        self.used = used
        self.count = itertools.count()

    def __call__(self, hint: str) -> str:
        while True:
            name = f"{hint}__spec{next(self.count)}"
            if name not in self.used:
                self.used.add(name)
                return name


def _default_opset(model: onnx.ModelProto) -> int:
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            return imp.version
    return 1


def _const(nodes: list, names: _Names, hint: str, value: np.ndarray) -> str:
    out = names(hint)
    nodes.append(helper.make_node("Constant", [], [out], name=names(hint + "_node"),
                                  value=numpy_helper.from_array(np.asarray(value), out)))
    return out


def _constant_value(graph: onnx.GraphProto, name: str) -> np.ndarray | None:
    for t in graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in graph.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx") and name in n.output:
            for a in n.attribute:
                if a.name == "value":
                    return numpy_helper.to_array(a.t)
    return None


def _rank(model: onnx.ModelProto, name: str) -> int | None:
    """Rank of tensor `name`, from the model's annotations or onnx shape inference."""
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except Exception:  # custom ops further down may upset strict inference
        inferred = model
    g = inferred.graph
    for v in itertools.chain(g.value_info, g.input, g.output, model.graph.value_info):
        if v.name == name and v.type.tensor_type.HasField("shape"):
            return len(v.type.tensor_type.shape.dim)
    value = _constant_value(model.graph, name)
    return None if value is None else value.ndim


def _bipolar_quant(node, names: _Names) -> list:
    x, scale = node.input[0], node.input[1]
    nodes: list = []
    zero = _const(nodes, names, "bq_zero", np.array(0.0, np.float32))
    plus = _const(nodes, names, "bq_plus", np.array(1.0, np.float32))
    minus = _const(nodes, names, "bq_minus", np.array(-1.0, np.float32))
    below, at_or_above, sign = names("bq_lt"), names("bq_ge"), names("bq_sign")
    nodes += [
        helper.make_node("Less", [x, zero], [below], name=names("bq_less")),
        helper.make_node("Not", [below], [at_or_above], name=names("bq_not")),
        helper.make_node("Where", [at_or_above, plus, minus], [sign], name=names("bq_where")),
        helper.make_node("Mul", [sign, scale], [node.output[0]], name=names("bq_scale")),
    ]
    return nodes


def _attr(node, name: str, default):
    for a in node.attribute:
        if a.name == name:
            value = helper.get_attribute_value(a)
            return value.decode() if isinstance(value, bytes) else value
    return default


def _multithreshold(node, model: onnx.ModelProto, names: _Names) -> list:
    x, thr_name = node.input[0], node.input[1]
    thresholds = _constant_value(model.graph, thr_name)
    if thresholds is None:
        raise NotImplementedError(f"MultiThreshold {node.name!r}: thresholds must be constant")
    thresholds = np.asarray(thresholds, np.float32)
    if thresholds.ndim != 2:
        raise ValueError(f"MultiThreshold {node.name!r}: thresholds shape {thresholds.shape}, "
                         "expected (C or 1, T)")
    rank = _rank(model, x)
    if rank is None:
        raise NotImplementedError(f"MultiThreshold {node.name!r}: rank of {x!r} unknown")
    layout = _attr(node, "data_layout", "NCHW")
    if rank == 2:
        axis = 1
    elif rank == 4:
        if layout not in ("NCHW", "NHWC"):
            raise ValueError(f"MultiThreshold {node.name!r}: data_layout {layout!r}")
        axis = 1 if layout == "NCHW" else 3
    else:
        axis = rank - 1
    channels, steps = thresholds.shape
    thr_shape = [1] * rank + [steps]
    thr_shape[axis] = channels
    out_scale = float(_attr(node, "out_scale", 1.0))
    out_bias = float(_attr(node, "out_bias", 0.0))

    nodes: list = []
    expand = _const(nodes, names, "mt_expand", np.array([0] * rank + [1], np.int64))
    thr = _const(nodes, names, "mt_thresholds", thresholds.reshape(thr_shape))
    ones = _const(nodes, names, "mt_ones", np.ones((steps, 1), np.float32))
    squeeze = _const(nodes, names, "mt_squeeze", np.array([0] * rank, np.int64))
    scale = _const(nodes, names, "mt_out_scale", np.array(out_scale, np.float32))
    bias = _const(nodes, names, "mt_out_bias", np.array(out_bias, np.float32))
    x1, below, hits, hits_f = names("mt_x1"), names("mt_lt"), names("mt_ge"), names("mt_ge_f")
    count1, count, scaled = names("mt_count1"), names("mt_count"), names("mt_scaled")
    nodes += [
        helper.make_node("Reshape", [x, expand], [x1], name=names("mt_reshape_in")),
        helper.make_node("Less", [x1, thr], [below], name=names("mt_less")),
        helper.make_node("Not", [below], [hits], name=names("mt_not")),
        helper.make_node("Cast", [hits], [hits_f], name=names("mt_cast"), to=TensorProto.FLOAT),
        helper.make_node("MatMul", [hits_f, ones], [count1], name=names("mt_sum")),
        helper.make_node("Reshape", [count1, squeeze], [count], name=names("mt_reshape_out")),
        helper.make_node("Mul", [count, scale], [scaled], name=names("mt_mul")),
        helper.make_node("Add", [scaled, bias], [node.output[0]], name=names("mt_add")),
    ]
    return nodes


def to_standard_onnx(model: onnx.ModelProto) -> onnx.ModelProto:
    """Replace BipolarQuant / MultiThreshold by standard ONNX ops; drop the custom opset imports."""
    opset = _default_opset(model)
    if opset < MIN_OPSET:
        raise NotImplementedError(f"model opset {opset} < {MIN_OPSET} (no Where): upgrade it "
                                  "with onnx.version_converter first")
    model = copy.deepcopy(model)
    graph = model.graph
    names = _Names(graph)
    old_nodes = list(graph.node)
    done: list = []
    for i, node in enumerate(old_nodes):
        if node.op_type == "BipolarQuant" and node.domain in BIPOLAR_DOMAINS:
            done += _bipolar_quant(node, names)
        elif node.op_type == "MultiThreshold" and node.domain in MULTITHRESHOLD_DOMAINS:
            # rank inference sees the already-rewritten prefix of the graph
            del graph.node[:]
            graph.node.extend(done + old_nodes[i:])
            done += _multithreshold(node, model, names)
        elif node.domain in CUSTOM_DOMAINS:
            raise NotImplementedError(f"no spec for custom op {node.domain}.{node.op_type} "
                                      f"(node {node.name!r})")
        else:
            done.append(node)
    del graph.node[:]
    graph.node.extend(done)

    kept = [imp for imp in model.opset_import if imp.domain not in CUSTOM_DOMAINS]
    if not any(imp.domain in ("", "ai.onnx") for imp in kept):
        kept.append(helper.make_opsetid("", MIN_OPSET))
    del model.opset_import[:]
    model.opset_import.extend(kept)
    return model


def run_onnxruntime(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    """Run `model` (standard ONNX) on `x` fed to its first real input; return the first output.

    Initializers listed among the graph inputs (IR < 4 style) are skipped when choosing the input.
    A model with a fixed batch size (TFC: 1) is run in slices of that size.
    """
    import onnxruntime as ort

    init_names = {t.name for t in model.graph.initializer}
    inputs = [v for v in model.graph.input if v.name not in init_names]
    first = inputs[0]
    dims = first.type.tensor_type.shape.dim
    batch = dims[0].dim_value if len(dims) and dims[0].HasField("dim_value") else 0

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    out_name = session.get_outputs()[0].name
    x = np.ascontiguousarray(x)
    if batch <= 0 or x.shape[0] == batch:
        return session.run([out_name], {first.name: x})[0]
    if x.shape[0] % batch:
        raise ValueError(f"{x.shape[0]} samples do not split into the model's batch of {batch}")
    parts = [session.run([out_name], {first.name: x[i:i + batch]})[0]
             for i in range(0, x.shape[0], batch)]
    return np.concatenate(parts, axis=0)
