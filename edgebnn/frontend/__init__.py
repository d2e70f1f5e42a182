"""ONNX in, IR out: nothing downstream sees ONNX.

The walk visits nodes in order, folds every node whose inputs are known
(constants, and shapes of activations), and hands the rest to ``ops.HANDLERS``,
which track binarizers symbolically (see ``values.py``).
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from ..errors import EdgebnnError
from ..ir import Graph
from . import activations, custom, finite, fold, labels, loader, ops, slicing, spatial  # noqa: F401 - they register handlers
from .builder import Builder
from .values import Const, Real


class Context:
    def __init__(self, builder: Builder, opset: int, batch: int = 1):
        self.builder = builder
        self.opset = opset
        self.batch = batch  # the exported model's static batch

    @staticmethod
    def attr(node, name, default=None):
        return custom.attr(node, name, default)


def live_nodes(graph: onnx.GraphProto, output: str) -> list[onnx.NodeProto]:
    """The nodes the output depends on, in graph order."""
    needed, keep = {output}, []
    for node in reversed(graph.node):
        if any(o in needed for o in node.output):
            keep.append(node)
            needed.update(i for i in node.input if i)
    return keep[::-1]


def load(model) -> Graph:
    proto, name = loader.read(model)
    loader.check(proto)
    g = proto.graph
    if len(g.output) != 1:
        raise EdgebnnError(f"the graph has {len(g.output)} outputs; edgebnn compiles single-output models")
    env: dict = {}
    for init in g.initializer:
        env[init.name] = Const(loader.initializer(init))
    loader.check_types(proto)
    inputs = [vi for vi in g.input if vi.name not in env]
    if len(inputs) != 1:
        raise EdgebnnError(f"the graph has {len(inputs)} non-constant inputs; edgebnn compiles single-input models")
    builder = Builder(name)
    ir = builder.graph
    exported = loader.input_shape(inputs[0])
    # A static batch N > 1: the ops never mix samples (a Reshape that would is refused), so
    # one sample is compiled and the batch is the caller's loop.
    ir.batch, ir.input_shape = exported[0], (1,) + exported[1:]
    # The caller's buffer, flat: views (layout.py) give it any logical shape.
    ir.input = builder.tensor("f32", (int(np.prod(ir.input_shape)),))
    env[inputs[0].name] = Real(ir.input, ir.input_shape)
    ctx = Context(builder, loader.opset(proto), ir.batch)
    out_name = g.output[0].name
    for node in live_nodes(g, out_name):
        visit(ctx, node, env)
    if out_name not in env:
        raise EdgebnnError(f"the graph output '{out_name}' is not produced by any node")
    value = env[out_name]
    ir.output = builder.output(value, out_name)
    ir.output_shape = tuple(value.shape)
    ir.source = name
    return ir


def visit(ctx: Context, node: onnx.NodeProto, env: dict) -> None:
    ins = []
    for i in node.input:
        if not i:
            ins.append(None)
        elif i in env:
            ins.append(env[i])
        else:
            raise EdgebnnError(f"input '{i}' is not produced by any node or initializer", node.name or node.op_type)
    if all(v is None or isinstance(v, Const) for v in ins):
        outs = [Const(v) for v in fold.evaluate(node, ctx.opset, [v.value if v else None for v in ins])]
    else:
        outs = dispatch(ctx, node, ins)
    for name, value in zip(node.output, outs):
        if name:
            env[name] = value


def dispatch(ctx: Context, node: onnx.NodeProto, ins: list):
    if custom.is_custom(node):
        handler = ops.CUSTOM[custom.kind(node)]
    elif node.op_type in ops.HANDLERS:
        handler = ops.HANDLERS[node.op_type]
    else:
        raise EdgebnnError(
            f"unsupported op {node.op_type} on the activation path; edgebnn compiles binary "
            "dense networks (MatMul/Gemm, BatchNormalization, binarizers, element-wise Mul/Add)",
            node.name or node.output[0],
        )
    if not node.name:
        node = _named(node)
    finite.check_node(node, ins, ctx.opset)
    return handler(ctx, node, ins)


def _named(node: onnx.NodeProto) -> onnx.NodeProto:
    """Unnamed nodes are reported by their first output."""
    copy = helper.make_node(node.op_type, list(node.input), list(node.output), name=node.output[0], domain=node.domain)
    copy.attribute.extend(node.attribute)
    return copy


__all__ = ["load", "np", "onnx"]
