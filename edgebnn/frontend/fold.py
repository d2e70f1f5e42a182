"""Constant folding: evaluate a node whose inputs are all known.

Standard ops run through onnx's own reference evaluator (at the model's opset);
the QONNX/FINN custom ops through their published semantics (``custom.py``).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from onnx.reference import ReferenceEvaluator

from ..errors import EdgebnnError
from . import custom

# Refuse to fold anything that would allocate more than this (hostile shapes).
MAX_FOLD_ELEMENTS = 1 << 26


def evaluate(node: onnx.NodeProto, opset: int, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    if custom.is_custom(node):
        return custom.evaluate(node, inputs)
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
    try:
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
