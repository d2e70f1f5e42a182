"""`edgebnn validate`: the emitted C against the reference and onnxruntime (the TFLite
interpreter for a .tflite file, check/tflite_run.py).

onnxruntime does not know the QONNX/FINN custom ops, so they are rewritten into
standard ONNX ops from their published semantics before it runs the graph.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .. import compiler
from ..frontend import custom, loader, tflite
from ..passes import int_input
from . import tflite_run


def _standard_nodes(node, k: int, inits: dict):
    """(standard-op nodes, their constants) computing a custom node."""
    x, y, tmp = node.input[0], node.output[0], f"__ebnn{k}"
    if custom.kind(node) == "BipolarQuant":  # where(x < 0, -1, 1) * scale
        consts = {f"{tmp}_t": np.float32(0), f"{tmp}_b": np.float32(-1), f"{tmp}_a": np.float32(1)}
        return [helper.make_node("Less", [x, f"{tmp}_t"], [f"{tmp}_lt"]),
                helper.make_node("Where", [f"{tmp}_lt", f"{tmp}_b", f"{tmp}_a"], [f"{tmp}_pm"]),
                helper.make_node("Mul", [f"{tmp}_pm", node.input[1]], [y])], consts
    # Bipolar MultiThreshold: where(x < t, below, above), t shaped (C, 1, ..., 1) at run
    # time from the input's rank so it broadcasts along axis 1.
    t, above, below = custom.multithreshold_params(node, inits[node.input[1]])
    consts = {f"{tmp}_t": t, f"{tmp}_b": np.float32(below), f"{tmp}_a": np.float32(above),
              f"{tmp}_two": np.array([2], np.int64), f"{tmp}_m1": np.array([-1], np.int64)}
    nodes = [
        helper.make_node("Shape", [x], [f"{tmp}_shape"]),
        helper.make_node("Shape", [f"{tmp}_shape"], [f"{tmp}_rank"]),
        helper.make_node("Sub", [f"{tmp}_rank", f"{tmp}_two"], [f"{tmp}_extra"]),
        helper.make_node("ConstantOfShape", [f"{tmp}_extra"], [f"{tmp}_ones"],
                         value=numpy_helper.from_array(np.array([1], np.int64))),
        helper.make_node("Concat", [f"{tmp}_m1", f"{tmp}_ones"], [f"{tmp}_tshape"], axis=0),
        helper.make_node("Reshape", [f"{tmp}_t", f"{tmp}_tshape"], [f"{tmp}_tr"]),
        helper.make_node("Less", [x, f"{tmp}_tr"], [f"{tmp}_lt"]),
        helper.make_node("Where", [f"{tmp}_lt", f"{tmp}_b", f"{tmp}_a"], [y]),
    ]
    return nodes, consts


def to_standard(proto: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of the model with BipolarQuant / bipolar MultiThreshold as standard ops and
    unique node names."""
    out = onnx.ModelProto.FromString(proto.SerializeToString())
    inits = {i.name: numpy_helper.to_array(i) for i in out.graph.initializer}
    nodes, consts = [], {}
    for k, node in enumerate(out.graph.node):
        if not custom.is_custom(node):
            nodes.append(node)
            continue
        new, c = _standard_nodes(node, k, inits)
        nodes.extend(new)
        consts.update(c)
    seen = set()
    for k, node in enumerate(nodes):  # ONNX asks for unique node names; onnxruntime insists
        if node.name in seen:
            node.name = f"{node.name}__ebnn{k}"
        seen.add(node.name)
    del out.graph.node[:]
    out.graph.node.extend(nodes)
    out.graph.initializer.extend(numpy_helper.from_array(np.asarray(v), n) for n, v in consts.items())
    kept = [o for o in out.opset_import if o.domain in ("", "ai.onnx")]
    del out.opset_import[:]
    out.opset_import.extend(kept)
    return out


def onnxruntime_run(proto: onnx.ModelProto, x: np.ndarray):
    """(outputs, count of exactly-zero Sign inputs) from onnxruntime, or (None, reason)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None, "onnxruntime is not installed"
    model = to_standard(proto)
    consts = {i.name for i in model.graph.initializer}
    sign_inputs = sorted({n.input[0] for n in model.graph.node if n.op_type == "Sign" and n.input[0] not in consts})
    model.graph.output.extend(helper.make_tensor_value_info(s, onnx.TensorProto.FLOAT, None) for s in sign_inputs)
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    consts = {i.name for i in proto.graph.initializer}
    batch = loader.input_shape(next(v for v in proto.graph.input if v.name not in consts))[0]
    outs, zeros = [], 0
    for row in x:  # a static batch N > 1: the row N times, the first sample's results
        res = [r[:1] for r in session.run(None, {name: np.repeat(row[None], batch, axis=0)})]
        outs.append(res[0])
        zeros += sum(int(np.count_nonzero(r == 0)) for r in res[1:])
    return np.concatenate(outs), zeros


def validate(model_path, x: np.ndarray, target="host", kernels="optimized", inputs=("float32",)) -> dict:
    """The C on x (float32, or integer codes with ``inputs`` = (type, scale, zero point)) against
    the reference and onnxruntime, which run the float graph on the dequantized inputs."""
    compiled = compiler.compile(model_path, target=target, kernels=kernels, input_type=inputs[0],
                                input_scale=(inputs[1:2] or (None,))[0], input_zero_point=(inputs[2:3] or (None,))[0])
    c_out = compiled.run(x)
    q = compiled.graph.input_quant
    if q:  # the float the graph sees for each code
        x = int_input.dequantize(x, q["scale"], q["zero_point"])
    ref_out = compiler.reference(model_path).run(x)
    result = {
        "model": str(model_path),
        "inputs": int(len(x)),
        "c_vs_reference": _agreement(c_out, ref_out),
    }
    if tflite.is_tflite_file(model_path):  # the TFLite interpreter is the executor of a .tflite file
        out, extra = tflite_run.run(model_path, x)
        key = "c_vs_tflite"
        result[key] = {"skipped": extra} if out is None else \
            dict(_agreement(c_out, out.reshape(c_out.shape)), interpreter=extra)
    else:
        proto, _ = loader.read(model_path)
        out, extra = onnxruntime_run(proto, x)
        key = "c_vs_onnxruntime"
        if out is None:
            result[key] = {"skipped": extra}
        else:
            result[key] = _agreement(c_out, out.reshape(c_out.shape))
            result["zero_sign_inputs"] = extra
    result["ok"] = result["c_vs_reference"]["identical"] and result[key].get("class_agree", len(x)) == len(x)
    return result


def _agreement(a: np.ndarray, b: np.ndarray) -> dict:
    flat_a, flat_b = a.reshape(len(a), -1), b.reshape(len(b), -1)
    if not np.issubdtype(a.dtype, np.floating):  # class labels (ArgMax / TopK outputs)
        same = np.all(flat_a == flat_b, axis=1)
        return {"identical": bool(np.array_equal(a, b)), "class_agree": int(same.sum()),
                "max_rel_error": 0.0 if same.all() else 1.0}
    scale = np.maximum(np.abs(flat_b).max(axis=1, keepdims=True), np.finfo(np.float32).tiny)
    return {
        "identical": bool(np.array_equal(a, b)),
        "class_agree": int(np.sum(flat_a.argmax(1) == flat_b.argmax(1))),
        "max_rel_error": float(np.max(np.abs(flat_a - flat_b) / scale)) if a.size else 0.0,
    }
