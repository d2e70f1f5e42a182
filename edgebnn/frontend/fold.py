"""Constant folding: evaluate a node whose inputs are all known.

Standard ops run through onnx's own reference evaluator (at the model's opset);
the QONNX/FINN custom ops through their published semantics (``custom.py``).
"""
from __future__ import annotations

import warnings

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference
from onnx.reference import ReferenceEvaluator

from ..errors import EdgebnnError
from . import custom, limits

# Refuse to fold anything that would allocate more than this (hostile shapes).
MAX_FOLD_ELEMENTS = limits.MAX_ELEMENTS
# Control flow runs subgraphs for as long as the file says: never folded.
CONTROL_FLOW = ("If", "Loop", "Scan", "SequenceMap")
# Ops whose result size is set by an input's values: folded only when shape inference
# knows that size beforehand.
SIZED_BY_VALUE = ("ConstantOfShape", "Expand", "Tile", "Range", "Resize", "Upsample", "Pad", "OneHot", "EyeLike",
                  "RandomNormal", "RandomUniform", "Multinomial", "Col2Im", "CenterCropPad", "Reshape")
# Inputs up to this many elements are given to shape inference by value (shapes, repeats).
_BY_VALUE = 4096


def evaluate(node: onnx.NodeProto, opset: int, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    if custom.is_custom(node):
        return custom.evaluate(node, inputs)
    if node.op_type in CONTROL_FLOW:
        raise EdgebnnError(f"control flow ({node.op_type}) is not supported; export the model without it",
                           node.name or node.output[0])
    names = [f"i{k}" if x is not None else "" for k, x in enumerate(inputs)]
    feeds = {n: x for n, x in zip(names, inputs) if n}
    outputs = [f"o{k}" for k in range(len(node.output))]
    copy = helper.make_node(node.op_type, names, outputs, domain=node.domain)
    copy.attribute.extend(node.attribute)
    graph = helper.make_graph(
        [copy], "fold",
        [helper.make_tensor_value_info(n, onnx.TensorProto.UNDEFINED, None) for n in feeds],
        [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in outputs],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    _check_output_sizes(node, model, feeds)
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # NaN weights are the model's business, not a second line
            results = ReferenceEvaluator(model).run(None, feeds)
    except Exception as exc:  # the evaluator raises many types for bad nodes
        raise EdgebnnError(
            f"{node.op_type} on constant inputs cannot be evaluated ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}); check the node's inputs and attributes",
            node.name or node.output[0],
        ) from None
    out = [np.asarray(r) for r in results]
    for r in out:
        if r.size > MAX_FOLD_ELEMENTS:
            raise EdgebnnError(f"{node.op_type} folds to {r.size} elements; the model is too large", node.name)
    return out


def _check_output_sizes(node: onnx.NodeProto, model: onnx.ModelProto, feeds: dict) -> None:
    """Refuse, before evaluating, a node whose outputs shape inference knows to be too large
    (``ConstantOfShape([2^20, 2^20])``, a huge ``Expand``/``Tile``/``Range``/``Resize``...)."""
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    g = probe.graph
    del g.input[:]
    for name, x in feeds.items():
        x = np.asarray(x)
        try:
            if x.size <= _BY_VALUE:
                g.initializer.append(numpy_helper.from_array(x, name))
            else:
                g.input.append(helper.make_tensor_value_info(
                    name, helper.np_dtype_to_tensor_dtype(x.dtype), list(x.shape)))
        except (TypeError, KeyError, ValueError):  # a dtype ONNX cannot spell
            del g.initializer[:], g.input[:]
            break
    name = node.name or node.output[0]
    try:
        inferred = shape_inference.infer_shapes(probe, strict_mode=False, data_prop=True).graph.output
    except Exception:  # noqa: BLE001 - the evaluator reports bad nodes better
        inferred = []
    known = False
    for out in inferred:
        t = out.type.tensor_type
        if t.HasField("shape") and all(d.HasField("dim_value") for d in t.shape.dim):
            limits.check_shape([d.dim_value for d in t.shape.dim], f"the result of {node.op_type}", name)
            known = True
    if node.op_type in SIZED_BY_VALUE and not known:
        raise EdgebnnError(f"the size of {node.op_type}'s result on these constants cannot be determined "
                           "(inconsistent shapes or values); check the node's inputs and attributes", name)
