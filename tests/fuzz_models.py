"""Hostile inputs for `edgebnn compile`, and a guarded pool of workers that runs them.

Two families, both seeded and deterministic:

- ``mutated_case(seed, i)``: the bytes of an ONNX file made from one of a few valid models
  (``base_models``: MLPs of every binarizer pattern, CNNs, the bundled TFC-W1A1; and two
  .tflite files, a plain TFLite and a Larq Compute Engine one, written as model.onnx) by raw
  byte mutations (truncation, bit flips, inserted / deleted / duplicated runs, garbage) or
  by protobuf surgery (huge, zero and negative dimensions, cycles, dangling inputs, wrong
  dtypes, missing initializers, opset and IR-version mismatches, broken attributes, ops
  that blow a small constant up into a giant tensor, external data that is missing or
  points outside the model's folder, NaN weights, impossible BatchNormalization and Gemm
  parameters, deep graphs, ...).
- ``hostile_case(seed, i)``: a valid model whose node, tensor, initializer, input, output
  and graph names are built to break C (comment terminators, quotes, backslashes, newlines,
  ``#include``, non-ASCII, C keywords, 10,000 characters). Every name carries a marker
  (``HOSTILE_MARK``) so a test can prove no name reached the C.

``run_cases`` runs cases in worker processes (``spawn``), each under an address-space
limit, with a wall-clock limit per case (a hung worker is killed by its pid and replaced)
and the peak resident memory of every case; a worker calls ``edgebnn.cli.main`` in
process, so a Python exception escaping ``main`` is a traceback.
"""
from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parent.parent
TFC = REPO_ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"
# .tflite bases (tests/models/tflite/make_models.py): a plain TFLite and an LCE file, read by content
TFLITE = [REPO_ROOT / "tests" / "models" / "tflite" / f"tiny_{k}.tflite" for k in ("plain", "lce")]
HOSTILE_MARK = "Qx7HOSTILE"
# What one case may take: seconds of wall clock, bytes of peak resident memory.
CASE_SECONDS = 60.0
CASE_RSS_BYTES = 1536 << 20
ADDRESS_SPACE_BYTES = 6 << 30
# Lines the test session prints at the end (conftest.pytest_terminal_summary).
SUMMARY_LINES: list[str] = []

C_FLAGS = ["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic", "-fsyntax-only"]


# -- the valid models mutations start from --------------------------------------------------
_BASES: list[tuple[str, bytes]] | None = None


def base_models() -> list[tuple[str, bytes]]:
    """(name, serialized ONNX) of the valid models every mutation starts from."""
    global _BASES
    if _BASES is None:
        from cnn_builders import build_cnn, build_pool_cnn
        from onnx_builders import random_mlp, small_known_mlp

        bases = [(f"mlp_{p}", small_known_mlp(p, seed=i).model)
                 for i, p in enumerate(("sign", "where_ge", "cast_gt", "larq", "bq_brevitas", "multithreshold"))]
        bases += [(f"mlp_random_{s}", random_mlp(s, ("cast_ge", "bq_qonnx", "sign")[s % 3]).model) for s in range(3)]
        bases += [(f"cnn_{p}", build_cnn(np.random.RandomState(10 + i), p, nhwc=(i == 1), n_convs=1, hw=(7, 7)).model)
                  for i, p in enumerate(("sign", "larq", "multithreshold"))]
        bases += [(f"cnn_pool_{o}", build_pool_cnn(np.random.RandomState(20 + i), o, cin=32, m=34, hw=(7, 7),
                                                   pool=((2, 2, 0), (3, 2, 1))[i]).model)
                  for i, o in enumerate(("pool_bn", "bn_pool"))]
        from test_activations import build as activation_model

        bases += [(f"act_{k}", activation_model(k, seed=i)) for i, k in enumerate(("PRelu", "Clip"))]
        from test_residual import build as residual_model

        bases.append(("residual", residual_model()))
        from test_slicing import build as slicing_model

        bases.append(("slicing", slicing_model()))
        from test_labels import build as label_model

        bases.append(("labels", label_model("TopK")))
        from first_layer_builders import first_conv, first_dense

        bases += [("first_conv", first_conv(1, pool=2).model), ("first_dense", first_dense(2).model)]
        bases = [(n, m.SerializeToString()) for n, m in bases]
        if TFC.is_file():
            bases.append(("tfc_w1a1", TFC.read_bytes()))
        bases += [(f"tflite_{p.stem}", p.read_bytes()) for p in TFLITE]
        _BASES = bases
    return _BASES


# -- raw byte mutations ------------------------------------------------------------------
def _raw(rng: np.random.Generator, data: bytes) -> tuple[str, bytes]:
    b = bytearray(data)
    n = len(b)
    kind = ("truncate", "bitflip", "bytes", "insert", "delete", "duplicate", "zero_run", "garbage",
            "empty", "tail")[int(rng.integers(10))]
    if kind == "truncate":
        return kind, bytes(b[: int(rng.integers(0, n))])
    if kind == "bitflip":
        for _ in range(int(rng.integers(1, 9))):
            i = int(rng.integers(n))
            b[i] ^= 1 << int(rng.integers(8))
        return kind, bytes(b)
    if kind == "bytes":
        for _ in range(int(rng.integers(1, 5))):
            b[int(rng.integers(n))] = int(rng.choice([0, 0x7F, 0x80, 0xFF, int(rng.integers(256))]))
        return kind, bytes(b)
    if kind == "insert":
        i = int(rng.integers(n))
        return kind, bytes(b[:i] + rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8).tobytes() + b[i:])
    if kind == "delete":
        i = int(rng.integers(n))
        return kind, bytes(b[:i] + b[i + int(rng.integers(1, 64)):])
    if kind == "duplicate":
        i = int(rng.integers(n))
        j = min(n, i + int(rng.integers(1, 256)))
        return kind, bytes(b[:j] + b[i:j] + b[j:])
    if kind == "zero_run":
        i = int(rng.integers(n))
        j = min(n, i + int(rng.integers(1, 32)))
        b[i:j] = bytes(j - i)
        return kind, bytes(b)
    if kind == "garbage":
        return kind, rng.integers(0, 256, int(rng.integers(1, 4096)), dtype=np.uint8).tobytes()
    if kind == "empty":
        return kind, b""
    # tail: a valid prefix with a varint that claims an enormous length
    return kind, bytes(b[: int(rng.integers(0, n))]) + b"\x3a\xff\xff\xff\xff\x0f" + b"\x00" * 8


# -- protobuf surgery ----------------------------------------------------------------------
HUGE = (0, -1, -7, 1 << 31, (1 << 31) - 1, 1 << 40, (1 << 62), 10 ** 6, 65536, 3)
DTYPES = (TensorProto.INT64, TensorProto.DOUBLE, TensorProto.INT8, TensorProto.STRING, TensorProto.BOOL,
          TensorProto.FLOAT16, TensorProto.UINT8, TensorProto.INT32, TensorProto.UNDEFINED, 99,
          TensorProto.COMPLEX64, TensorProto.BFLOAT16)
OPS = ("Sign", "Relu", "Conv", "Gemm", "MatMul", "Reshape", "Transpose", "Expand", "Tile", "ConstantOfShape",
       "Range", "Loop", "If", "Scan", "Resize", "Pad", "Concat", "Gather", "Split", "NoSuchOp", "", "Add",
       "Mul", "Where", "Cast", "BatchNormalization", "MaxPool", "AveragePool", "Flatten", "Squeeze",
       "Unsqueeze", "Identity", "Shape", "Size", "Not", "Greater", "Less", "ReduceMean", "Abs", "Dropout",
       "GlobalAveragePool", "BipolarQuant", "MultiThreshold", "Softmax", "Einsum", "TopK", "Slice")


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))] if len(seq) else None


def _outputs(g) -> list[str]:
    return [o for n in g.node for o in n.output if o]


def _new(m: onnx.ModelProto) -> tuple:
    return m, m.graph


def _s_input_dim(rng, m):
    g = m.graph
    vi = _pick(rng, list(g.input))
    if vi is None:  # an earlier mutation removed the inputs
        return "input_dim"
    dims = vi.type.tensor_type.shape.dim
    if not len(dims):
        return "input_dim"
    d = dims[int(rng.integers(len(dims)))]
    choice = int(rng.integers(4))
    if choice == 0:
        d.dim_param = "N"
    elif choice == 1:
        d.Clear()
    else:
        d.dim_value = int(_pick(rng, HUGE))
    return "input_dim"


def _s_input_rank(rng, m):
    if not len(m.graph.input):
        return "input_rank"
    shape = m.graph.input[0].type.tensor_type.shape
    if rng.integers(2) and len(shape.dim):
        del shape.dim[int(rng.integers(len(shape.dim)))]
    else:
        shape.dim.add().dim_value = int(_pick(rng, (1, 2, 3, 1 << 20)))
    return "input_rank"


def _s_init_dims(rng, m):
    inits = list(m.graph.initializer)
    if not inits:
        return "init_dims"
    t = _pick(rng, inits)
    choice = int(rng.integers(4))
    if choice == 0 and len(t.dims):
        t.dims[int(rng.integers(len(t.dims)))] = int(_pick(rng, HUGE))
    elif choice == 1:
        t.dims.append(int(_pick(rng, (1, 2, 1 << 30))))
    elif choice == 2 and len(t.dims):
        del t.dims[int(rng.integers(len(t.dims)))]
    else:
        del t.dims[:]
        t.dims.extend([1 << 20, 1 << 20])
    return "init_dims"


def _s_init_dtype(rng, m):
    inits = list(m.graph.initializer)
    if inits:
        _pick(rng, inits).data_type = int(_pick(rng, DTYPES))
    return "init_dtype"


def _s_input_dtype(rng, m):
    vi = _pick(rng, list(m.graph.input) + list(m.graph.output))
    vi.type.tensor_type.elem_type = int(_pick(rng, DTYPES))
    return "io_dtype"


def _s_drop_init(rng, m):
    inits = m.graph.initializer
    if len(inits):
        del inits[int(rng.integers(len(inits)))]
    return "drop_initializer"


def _s_dangling(rng, m):
    n = _pick(rng, [n for n in m.graph.node if len(n.input)])
    if n is not None:
        n.input[int(rng.integers(len(n.input)))] = f"nowhere_{int(rng.integers(1000))}"
    return "dangling_input"


def _s_cycle(rng, m):
    nodes = list(m.graph.node)
    if len(nodes) < 2:
        return "cycle"
    i = int(rng.integers(len(nodes)))
    j = int(rng.integers(i, len(nodes)))
    a, b = nodes[i], nodes[j]
    if len(a.input) and len(b.output):
        a.input[int(rng.integers(len(a.input)))] = b.output[0]
    return "cycle"


def _s_opset(rng, m):
    choice = int(rng.integers(5))
    if choice == 0:
        del m.opset_import[:]
    elif choice == 1:
        m.ir_version = int(_pick(rng, (0, 1, 2, 3, 4, 99, -1 & 0x7FFFFFFF)))
    elif choice == 2:
        for o in m.opset_import:
            if o.domain not in ("", "ai.onnx"):
                o.version = int(_pick(rng, (0, 2, 99)))
        m.opset_import.add(domain="", version=int(_pick(rng, (1, 7, 13, 99))))  # a duplicate
    else:
        for o in m.opset_import:
            if o.domain in ("", "ai.onnx"):
                o.version = int(_pick(rng, (1, 5, 6, 7, 9, 10, 11, 12, 14, 17, 18, 19, 21, 22, 23, 30, 1000)))
    return "opset"


def _mutate_attr(rng, a):
    if a.type == onnx.AttributeProto.INT:
        a.i = int(_pick(rng, HUGE))
    elif a.type == onnx.AttributeProto.INTS:
        if len(a.ints) and rng.integers(2):
            a.ints[int(rng.integers(len(a.ints)))] = int(_pick(rng, HUGE))
        else:
            del a.ints[:]
            a.ints.extend(int(_pick(rng, HUGE)) for _ in range(int(rng.integers(0, 9))))
    elif a.type == onnx.AttributeProto.FLOAT:
        a.f = float(_pick(rng, (np.nan, np.inf, -np.inf, 0.0, -1e38, 1e-45)))
    elif a.type == onnx.AttributeProto.STRING:
        a.s = _pick(rng, (b"", b"\xff\xfe", b"SAME_UPPER", b"VALID", b"reflect", b"NHWC", b"x" * 1000))
    else:
        a.type = int(_pick(rng, (onnx.AttributeProto.INT, onnx.AttributeProto.FLOATS, onnx.AttributeProto.GRAPH)))


def _s_attr(rng, m):
    nodes = [n for n in m.graph.node if len(n.attribute)]
    if not nodes:
        return "attr"
    n = _pick(rng, nodes)
    a = n.attribute[int(rng.integers(len(n.attribute)))]
    if rng.integers(6) == 0:
        a.type = int(_pick(rng, (onnx.AttributeProto.INT, onnx.AttributeProto.STRING, onnx.AttributeProto.TENSOR)))
    else:
        _mutate_attr(rng, a)
    return "attr"


def _s_add_attr(rng, m):
    n = _pick(rng, list(m.graph.node))
    name = _pick(rng, ("kernel_shape", "strides", "pads", "dilations", "group", "perm", "axis", "axes",
                       "transA", "transB", "alpha", "beta", "epsilon", "to", "auto_pad", "ceil_mode",
                       "allowzero", "keepdims", "start", "end", "mode", "count_include_pad", "out_scale",
                       "data_layout"))
    del_idx = [i for i, a in enumerate(n.attribute) if a.name == name]
    for i in reversed(del_idx):
        del n.attribute[i]
    value = _pick(rng, (int(_pick(rng, HUGE)), [int(_pick(rng, HUGE)) for _ in range(int(rng.integers(1, 5)))],
                        float(_pick(rng, (np.nan, 2.0, -1.0))), "SAME_LOWER", "NHWC", [0, 2, 1, 3], [1, 0]))
    n.attribute.append(helper.make_attribute(name, value))
    return "add_attr"


def _s_op_type(rng, m):
    n = _pick(rng, list(m.graph.node))
    n.op_type = _pick(rng, OPS)
    if rng.integers(4) == 0:
        n.domain = _pick(rng, ("", "ai.onnx", "onnx.brevitas", "qonnx.custom_op.general", "finn.custom_op.general",
                               "com.microsoft", "evil.domain"))
    return "op_type"


def _s_nodes(rng, m):
    g = m.graph
    nodes = list(g.node)
    choice = int(rng.integers(5))
    if choice == 0 and nodes:
        del g.node[int(rng.integers(len(nodes)))]
        return "drop_node"
    if choice == 1 and nodes:
        g.node.insert(int(rng.integers(len(nodes) + 1)), _pick(rng, nodes))
        return "duplicate_node"
    if choice == 2:
        order = rng.permutation(len(nodes))
        del g.node[:]
        g.node.extend(nodes[i] for i in order)
        return "shuffle_nodes"
    if choice == 3:
        del g.node[:]
        g.node.extend(reversed(nodes))
        return "reverse_nodes"
    # two nodes writing the same tensor
    if len(nodes) >= 2:
        a, b = _pick(rng, nodes), _pick(rng, nodes)
        if len(a.output) and len(b.output):
            b.output[0] = a.output[0]
    return "output_collision"


def _s_io(rng, m):
    g = m.graph
    choice = int(rng.integers(6))
    if not len(g.input) or not len(g.output):  # an earlier mutation removed them: add a stray output
        choice = 1
    if choice == 0:
        del g.output[:]
    elif choice == 1:
        g.output.append(helper.make_tensor_value_info(_pick(rng, _outputs(g) or ["x"]), TensorProto.FLOAT, None))
    elif choice == 2:
        g.output[0].name = "not_produced"
    elif choice == 3:
        g.input.append(helper.make_tensor_value_info("second_input", TensorProto.FLOAT, [1, 4]))
    elif choice == 4:
        del g.input[:]
    else:  # the graph input is also an initializer, or the output is the input
        if rng.integers(2):
            g.output[0].name = g.input[0].name
        else:
            g.initializer.append(numpy_helper.from_array(np.zeros((1, 3), np.float32), g.input[0].name))
    return "graph_io"


def _s_raw_data(rng, m):
    inits = [t for t in m.graph.initializer if t.raw_data]
    if not inits:
        return "raw_data"
    t = _pick(rng, inits)
    if rng.integers(2):
        t.raw_data = t.raw_data[: int(rng.integers(len(t.raw_data)))]
    else:
        t.raw_data = t.raw_data + bytes(int(rng.integers(1, 17)))
    return "raw_data"


def _s_external(rng, m):
    inits = list(m.graph.initializer)
    if not inits:
        return "external_data"
    t = _pick(rng, inits)
    t.ClearField("raw_data")
    del t.float_data[:]
    t.data_location = TensorProto.EXTERNAL
    del t.external_data[:]
    loc = _pick(rng, ("missing.bin", "../../../../../../etc/passwd", "/etc/passwd", "model.onnx", ".", "",
                      "sub/../../x.bin", "/dev/zero", "\x00"))
    t.external_data.add(key="location", value=loc)
    if rng.integers(2):
        t.external_data.add(key="offset", value=str(int(_pick(rng, (0, -5, 1 << 40)))))
        t.external_data.add(key="length", value=str(int(_pick(rng, (4, 1 << 40, -1)))))
    return "external_data"


def _s_values(rng, m):
    inits = [t for t in m.graph.initializer
             if t.data_type == TensorProto.FLOAT and t.data_location != TensorProto.EXTERNAL]
    if not inits:
        return "weird_values"
    t = _pick(rng, inits)
    try:
        a = numpy_helper.to_array(t).copy()
    except ValueError:  # an earlier mutation broke its shape: that case stands as it is
        return "weird_values"
    if a.size:
        flat = a.reshape(-1)
        k = int(rng.integers(1, max(2, flat.size // 4 + 1)))
        idx = rng.integers(0, flat.size, k)
        flat[idx] = _pick(rng, (np.nan, np.inf, -np.inf, 0.0, 3.4e38, -3.4e38, 1e-45, 0.5))
    t.CopyFrom(numpy_helper.from_array(a, t.name))
    return "weird_values"


def _blowup_nodes(rng, g, anchor: str):
    """Nodes that turn tiny constants into enormous tensors, joined onto ``anchor``."""
    tag = f"blow{int(rng.integers(1 << 30))}"
    big = int(_pick(rng, (1 << 16, 1 << 20, 1 << 31, 1 << 40)))
    kind = int(rng.integers(8))
    inits, nodes = [], []

    def c(name, value, dtype=np.int64):
        inits.append(numpy_helper.from_array(np.asarray(value, dtype), f"{tag}_{name}"))
        return f"{tag}_{name}"

    if kind == 0:
        nodes.append(helper.make_node("ConstantOfShape", [c("shape", [big, big])], [f"{tag}_y"],
                                      value=numpy_helper.from_array(np.array([1.0], np.float32))))
    elif kind == 1:
        nodes.append(helper.make_node("Expand", [c("one", [1.0], np.float32), c("shape", [big, big])], [f"{tag}_y"]))
    elif kind == 2:
        nodes.append(helper.make_node("Tile", [c("v", [[1.0, 2.0]], np.float32), c("rep", [big, big])], [f"{tag}_y"]))
    elif kind == 3:
        nodes.append(helper.make_node("Range", [c("a", 0.0, np.float32), c("b", float(big) * big, np.float32),
                                                c("d", 1.0, np.float32)], [f"{tag}_y"]))
    elif kind == 4:  # on the activation path: pad the input enormously
        nodes.append(helper.make_node("Pad", [anchor, c("pads", [0, 0, big, big] * 1)], [f"{tag}_y"]))
        nodes.append(helper.make_node("Identity", [f"{tag}_y"], [f"{tag}_z"]))
        return inits, nodes, f"{tag}_z", True
    elif kind == 5:  # a Resize of the activation by an enormous scale
        nodes.append(helper.make_node("Resize", [anchor, "", c("scales", [1.0, float(big)], np.float32)], [f"{tag}_y"]))
        return inits, nodes, f"{tag}_y", True
    elif kind == 6:  # an Expand of the activation
        nodes.append(helper.make_node("Expand", [anchor, c("shape", [big, 1])], [f"{tag}_y"]))
        return inits, nodes, f"{tag}_y", True
    else:  # a Conv on the activation with enormous padding
        nodes.append(helper.make_node("Reshape", [anchor, c("shape4", [1, 1, 1, -1])], [f"{tag}_r"]))
        nodes.append(helper.make_node("Conv", [f"{tag}_r", c("w", np.ones((2, 1, 1, 1)), np.float32)], [f"{tag}_y"],
                                      pads=[big, big, big, big]))
        return inits, nodes, f"{tag}_y", True
    return inits, nodes, f"{tag}_y", False


def _s_blowup(rng, m):
    """Join a giant-tensor subgraph onto the graph: added to a weight, or replacing an activation."""
    g = m.graph
    nodes = list(g.node)
    target = _pick(rng, [n for n in nodes if len(n.input) >= 1])
    if target is None:
        return "blowup"
    anchor = target.input[0]
    inits, extra, out, on_activation = _blowup_nodes(rng, g, anchor)
    g.initializer.extend(inits)
    idx = list(g.node).index(target)
    if on_activation:
        target.input[0] = out
    else:  # weight + giant constant (broadcast): the sum folds to the giant shape
        weight = target.input[1] if len(target.input) > 1 else target.input[0]
        extra.append(helper.make_node("Add", [weight, out], [out + "_sum"]))
        target.input[1 if len(target.input) > 1 else 0] = out + "_sum"
    for k, n in enumerate(extra):
        g.node.insert(idx + k, n)
    return "blowup"


def _s_deep(rng, m):
    """A long chain of Identity (or Relu-free no-op) nodes on the activation path."""
    g = m.graph
    depth = int(_pick(rng, (500, 2000, 5000)))
    first = g.node[0]
    src = first.input[0]
    chain = [helper.make_node("Identity", [src if i == 0 else f"deep_{i - 1}"], [f"deep_{i}"], name=f"deep{i}")
             for i in range(depth)]
    first.input[0] = f"deep_{depth - 1}"
    for k, n in enumerate(chain):
        g.node.insert(k, n)
    return "deep_graph"


def _s_subgraph(rng, m):
    """A node replaced by an If / Loop carrying a subgraph (control flow)."""
    g = m.graph
    n = _pick(rng, list(g.node))
    body = helper.make_graph([helper.make_node("Identity", [n.input[0] if len(n.input) else "x"], ["sub_out"])],
                             "body", [], [helper.make_tensor_value_info("sub_out", TensorProto.FLOAT, None)])
    g.initializer.append(numpy_helper.from_array(np.array(True), "cond_true"))
    new = helper.make_node("If", ["cond_true"], list(n.output)[:1], name=n.name + "_if",
                           then_branch=body, else_branch=body)
    idx = list(g.node).index(n)
    g.node.remove(n)
    g.node.insert(idx, new)
    return "subgraph"


def _s_shape_plumbing(rng, m):
    """Reshape / Transpose / Squeeze / Flatten inserted on the activation with odd targets."""
    g = m.graph
    target = _pick(rng, [n for n in g.node if len(n.input)])
    anchor = target.input[0]
    tag = f"sp{int(rng.integers(1 << 30))}"
    kind = int(rng.integers(5))
    if kind == 0:
        shape = _pick(rng, ([-1, -1], [0, 0, 0, 0], [1, -1, 0], [-2], [1 << 40, -1], [1, 0], [], [1, 1, 1, 1, 1, 1, -1]))
        g.initializer.append(numpy_helper.from_array(np.array(shape, np.int64), f"{tag}_s"))
        node = helper.make_node("Reshape", [anchor, f"{tag}_s"], [f"{tag}_y"])
    elif kind == 1:
        node = helper.make_node("Transpose", [anchor], [f"{tag}_y"],
                                perm=list(_pick(rng, ([1, 0], [0, 0], [0, 5], [3, 2, 1, 0], [0, 2, 3, 1], [-1, 0]))))
    elif kind == 2:
        node = helper.make_node("Flatten", [anchor], [f"{tag}_y"], axis=int(_pick(rng, (-9, 0, 1, 5, 1 << 40))))
    elif kind == 3:
        g.initializer.append(numpy_helper.from_array(np.array(_pick(rng, ([0], [5], [-7], [1, 1])), np.int64),
                                                     f"{tag}_a"))
        node = helper.make_node(_pick(rng, ("Squeeze", "Unsqueeze")), [anchor, f"{tag}_a"], [f"{tag}_y"])
    else:
        node = helper.make_node("Slice", [anchor], [f"{tag}_y"])
    target.input[0] = f"{tag}_y"
    g.node.insert(list(g.node).index(target), node)
    return "shape_plumbing"


def _s_norm_params(rng, m):
    """Impossible normalisation and scale parameters: a NaN or an infinity in one of a
    BatchNormalization's statistics, a negative variance, a zero variance with epsilon 0, or a
    Gemm alpha/beta that is not finite."""
    g = m.graph
    inits = {t.name: t for t in g.initializer if t.data_type == TensorProto.FLOAT}
    bns = [n for n in g.node if n.op_type == "BatchNormalization" and all(i in inits for i in n.input[1:5])]
    gemms = [n for n in g.node if n.op_type == "Gemm"]
    if gemms and (not bns or rng.random() < 0.25):
        node = _pick(rng, gemms)
        name = _pick(rng, ("alpha", "beta"))
        del node.attribute[:]  # transB and the rest go too: a second reason to refuse is fine
        node.attribute.append(helper.make_attribute(name, float(_pick(rng, (np.nan, np.inf, -np.inf)))))
        return "gemm_params"
    if not bns:
        return "norm_params"
    node = _pick(rng, bns)
    which = int(rng.integers(1, 5))  # scale, B, mean, var
    t = inits[node.input[which]]
    a = numpy_helper.to_array(t).astype(np.float32).copy().reshape(-1)
    c = int(rng.integers(a.size)) if a.size else 0
    bad = (np.nan, np.inf, -np.inf) + ((-1.0, 0.0) if which == 4 else ())
    if a.size:
        a[c] = _pick(rng, bad)
        if which == 4 and a[c] == 0.0:
            del node.attribute[:]
            node.attribute.append(helper.make_attribute("epsilon", 0.0))
    t.CopyFrom(numpy_helper.from_array(a.reshape(tuple(t.dims)), t.name))
    return "norm_params"


STRUCTURAL = (
    _s_input_dim, _s_input_rank, _s_init_dims, _s_init_dtype, _s_input_dtype, _s_drop_init, _s_dangling,
    _s_cycle, _s_opset, _s_attr, _s_add_attr, _s_op_type, _s_nodes, _s_io, _s_raw_data, _s_external,
    _s_values, _s_blowup, _s_deep, _s_subgraph, _s_shape_plumbing, _s_norm_params,
)


def _structural(rng, data: bytes) -> tuple[str, bytes]:
    m = onnx.ModelProto.FromString(data)
    kinds = []
    for _ in range(1 if rng.random() < 0.7 else int(rng.integers(2, 4))):
        fn = STRUCTURAL[int(rng.integers(len(STRUCTURAL)))]
        if fn is _s_deep and (len(data) > 100_000 or kinds):
            fn = _s_cycle  # keep the big model's cases quick
        kinds.append(fn(rng, m))
    return "+".join(kinds), m.SerializeToString()


def mutated_case(seed: int, i: int) -> tuple[str, bytes]:
    """(description, bytes) of mutated model ``i`` of the run seeded by ``seed``."""
    rng = np.random.default_rng([seed, i])
    bases = base_models()
    name, data = bases[i % len(bases)]
    if name.startswith("tflite_"):  # a flatbuffer: byte mutations, the identifier mostly kept
        kind, out = _raw(rng, data)
        return f"{name}: raw {kind}", out
    if rng.random() < 0.35:
        kind, out = _raw(rng, data)
        return f"{name}: raw {kind}", out
    kind, out = _structural(rng, data)
    if rng.random() < 0.1:
        raw, out = _raw(rng, out)
        kind += f"+raw {raw}"
    return f"{name}: {kind}", out


# -- hostile names -------------------------------------------------------------------------
HOSTILE_FRAGMENTS = (
    "*/", "/*", "//", '"', "'", "\\", "\\\n", "\n", "\r\n", "\t", "#include <stdio.h>", "#define int float",
    "??/", "%s%n", "int", "return", "static", "void", "_Pragma(\"x\")", "}", "{", ";", "\x00", "\x1b[2J",
    "ümlaut-ß", "名前", "\u202e", "\U0001f600", "a b/c:d", "9lives", "$(rm -rf /)", "`x`", "{{ version }}",
    "{% raw %}", "<script>", "model_run", "L0_w", "MODEL_INPUT_SIZE", "..", "../../etc/passwd", "",
)


def _hostile_name(rng: np.random.Generator, k: int) -> str:
    parts = [HOSTILE_FRAGMENTS[int(j)] for j in rng.integers(0, len(HOSTILE_FRAGMENTS), int(rng.integers(1, 5)))]
    body = "".join(parts).replace("\x00", "\\0")  # protobuf strings may not hold NUL in the checker's eyes
    if rng.random() < 0.05:
        body = (body + "x") * (10_000 // (len(body) + 1) + 1)
        body = body[:10_000]
    return f"{HOSTILE_MARK}{k}{body}{HOSTILE_MARK}{k}"


def rename_all(m: onnx.ModelProto, rng: np.random.Generator) -> None:
    """Give every name in the graph (nodes, tensors, initializers, inputs, outputs, the graph,
    value infos) a hostile one, consistently."""
    g = m.graph
    mapping: dict[str, str] = {}

    def ren(name):
        if not name:
            return name
        if name not in mapping:
            mapping[name] = _hostile_name(rng, len(mapping))
        return mapping[name]

    for t in g.initializer:
        t.name = ren(t.name)
    for v in list(g.input) + list(g.output) + list(g.value_info):
        v.name = ren(v.name)
    for n in g.node:
        n.name = _hostile_name(rng, 5000 + len(mapping)) if rng.random() < 0.9 else ""
        for j, nm in enumerate(n.input):
            n.input[j] = ren(nm)
        for j, nm in enumerate(n.output):
            n.output[j] = ren(nm)
    g.name = _hostile_name(rng, 9999)
    m.producer_name = _hostile_name(rng, 9998)
    m.doc_string = _hostile_name(rng, 9997)


def hostile_case(seed: int, i: int) -> tuple[str, bytes, bool]:
    """(description, bytes, expected to compile) of hostile-name model ``i``. One in eight
    also holds an unsupported op (named hostilely) and must fail with one clean line."""
    rng = np.random.default_rng([seed, 7, i])
    bases = [b for b in base_models() if not b[0].startswith(("tfc", "tflite_"))]  # ONNX protobufs only
    name, data = bases[i % len(bases)]
    m = onnx.ModelProto.FromString(data)
    fail = i % 8 == 7
    if fail:  # an unsupported op on the activation path
        g = m.graph
        target = next(n for n in g.node if n.op_type in ("MatMul", "Gemm", "Conv"))
        g.node.insert(list(g.node).index(target),
                      helper.make_node("Softplus", [target.input[0]], ["softplus_out"], name="softplus"))
        target.input[0] = "softplus_out"
    rename_all(m, rng)
    return f"{name}: hostile names{' + unsupported op' if fail else ''}", m.SerializeToString(), not fail


# -- one case, in a worker -----------------------------------------------------------------
@dataclass
class Result:
    index: int
    description: str
    code: int | None  # exit status, None for an escaped exception or a hang
    problem: str = ""  # empty when the case behaved
    seconds: float = 0.0
    rss: int = 0
    stderr: str = ""
    extra: dict = field(default_factory=dict)


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _check_outcome(code, out, err, out_dir: Path, work: Path) -> str:
    """'' when the CLI behaved: exit 0 and output, or exit 2, one clean line and no output."""
    leftovers = sorted(p.name for p in work.iterdir() if p.name not in ("model.onnx", "out"))
    if leftovers:
        return f"left partial files behind: {leftovers}"
    if code == 0:
        if err.strip():
            return f"exit 0 with stderr: {err[:300]!r}"
        if not (out_dir / "model.c").is_file():
            return "exit 0 without model.c"
        return ""
    if code == 2:
        lines = err.rstrip("\n").split("\n")
        # A model over its target's budget prints the table that says why above the line.
        if len(lines) > 1 and "--allow-overflow" in lines[-1]:
            lines = lines[-1:]
        if len(lines) != 1 or not lines[0].startswith("edgebnn: error: "):
            return f"exit 2 without exactly one 'edgebnn: error:' line: {err[:500]!r}"
        line = lines[0]
        if "Traceback" in err or "MemoryError" in err:
            return f"error line reports {'a traceback' if 'Traceback' in err else 'a giant allocation'}: {line[:300]!r}"
        if not line.isprintable() or len(line) > 1000:
            return f"error line is not one clear printable line ({len(line)} chars): {line[:300]!r}"
        if out_dir.exists():
            return "exit 2 but the output folder exists"
        return ""
    if code == 3:
        return f"internal error (exit 3): {err[:500]!r}"
    return f"exit status {code}: {err[:500]!r}"


def _compile(data: bytes, work: Path) -> tuple[int | None, str, str, str]:
    """(exit status or None, stdout, stderr, traceback) of `edgebnn compile` in process."""
    from edgebnn import cli

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    path = work / "model.onnx"
    path.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    tb = ""
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["compile", str(path), "--target", "cortex-m4", "-o", str(work / "out")])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - anything escaping main is a traceback
        code, tb = None, traceback.format_exc()
    return code, out.getvalue(), err.getvalue(), tb


def _check_c(out_dir: Path, marks: list[str]) -> str:
    """'' when the emitted C holds no marked name, is ASCII, and compiles warning-free."""
    sources = sorted(out_dir.glob("*.[ch]"))
    for src in sources:
        data = src.read_bytes()
        if not data.isascii():
            return f"{src.name} holds non-ASCII bytes"
        text = data.decode()
        for mark in marks:
            if mark in text:
                return f"{src.name} holds a name from the model ({mark!r})"
    proc = subprocess.run(["gcc", *C_FLAGS, "-I", str(out_dir), *[str(s) for s in sources if s.suffix == ".c"]],
                          capture_output=True, text=True, timeout=120)
    if proc.returncode:
        return f"gcc rejects the emitted C: {proc.stderr[:800]}"
    return ""


def run_one(kind: str, seed: int, i: int, work: Path) -> Result:
    if kind == "mutated":
        desc, data = mutated_case(seed, i)
        expect_ok = None
    else:
        desc, data, expect_ok = hostile_case(seed, i)
    start = time.monotonic()
    code, out, err, tb = _compile(data, work)
    seconds = time.monotonic() - start
    res = Result(i, desc, code, seconds=seconds, rss=_peak_rss(), stderr=err[:2000])
    if code == 3:  # the CLI's last resort caught an exception: run again for its traceback
        os.environ["EDGEBNN_TRACEBACK"] = "1"
        try:
            tb = _compile(data, work)[3] or "(no traceback the second time)"
        finally:
            del os.environ["EDGEBNN_TRACEBACK"]
        res.problem = f"internal error (exit 3): {err.strip()[:300]}\n{tb[-3000:]}"
    elif tb:
        res.problem = "traceback: " + tb[-3000:]
    else:
        res.problem = _check_outcome(code, out, err, work / "out", work)
    if not res.problem and HOSTILE_MARK in err:
        res.problem = f"the error line repeats a hostile name unsanitised: {err[:300]!r}" \
            if any(not c.isprintable() for c in err.rstrip("\n")) else ""
    if not res.problem and kind == "hostile":
        if expect_ok and code != 0:
            res.problem = f"a valid model with hostile names did not compile: {err[:500]!r}"
        elif not expect_ok and code != 2:
            res.problem = f"an unsupported op did not give exit 2 (got {code})"
        elif code == 0:
            marks = [HOSTILE_MARK]
            res.problem = _check_c(work / "out", marks)
            res.extra["compiled_c"] = True
    if not res.problem and code == 0 and kind == "mutated" and i % 4 == 0:
        res.problem = _check_c(work / "out", [])  # a mutant that compiles still gives valid C
    shutil.rmtree(work, ignore_errors=True)
    return res


def _worker(conn, root: str, address_space: int) -> None:
    """Loop: receive (kind, seed, i), send back a Result. Runs in a spawned process."""
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    base_models()  # build once, before the first case's memory is measured
    import edgebnn.cli  # noqa: F401
    work = Path(root) / f"w{os.getpid()}"
    while True:
        msg = conn.recv()
        if msg is None:
            break
        kind, seed, i = msg
        before = _peak_rss()
        try:
            res = run_one(kind, seed, i, work)
        except BaseException:  # noqa: BLE001 - a bug of the checker itself, reported as such
            res = Result(i, f"{kind} {i}", None, problem="checker failed: " + traceback.format_exc()[-2000:])
        res.extra["grew"] = max(0, res.rss - before)  # this case's own rise of the worker's peak
        if res.rss > max(before, CASE_RSS_BYTES):
            res.problem = res.problem or f"giant allocation: peak resident memory {res.rss >> 20} MiB"
        res.extra["retire"] = res.rss > CASE_RSS_BYTES  # a fresh worker measures the next cases
        conn.send(res)
        if res.extra["retire"]:
            break


class _Slot:
    def __init__(self, ctx, root):
        self.parent, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker, args=(child, root, ADDRESS_SPACE_BYTES), daemon=True)
        self.proc.start()
        child.close()
        self.case = None
        self.deadline = 0.0

    def stop(self, kill=False):
        if kill and self.proc.is_alive():
            os.kill(self.proc.pid, 9)
        else:
            with contextlib.suppress(OSError, BrokenPipeError):
                self.parent.send(None)
        self.proc.join(10)
        self.parent.close()


def run_cases(kind: str, seed: int, count: int, workers: int = 2, case_seconds: float = CASE_SECONDS) -> list[Result]:
    """Run cases 0..count-1 of ``kind`` ('mutated' or 'hostile') on ``workers`` processes."""
    ctx = multiprocessing.get_context("spawn")
    root = tempfile.mkdtemp(prefix="edgebnn-fuzz-")
    todo = list(range(count))[::-1]
    results: list[Result] = []
    slots = [_Slot(ctx, root) for _ in range(max(1, workers))]
    try:
        while todo or any(s.case is not None for s in slots):
            for k, s in enumerate(slots):
                if s.case is None and todo:
                    if not s.proc.is_alive():
                        s.stop()
                        s = slots[k] = _Slot(ctx, root)
                    s.case = todo.pop()
                    s.deadline = time.monotonic() + case_seconds
                    s.parent.send((kind, seed, s.case))
            for k, s in enumerate(slots):
                if s.case is None:
                    continue
                if s.parent.poll(0.01):
                    try:
                        res = s.parent.recv()
                        results.append(res)
                    except (EOFError, OSError):
                        results.append(Result(s.case, f"{kind} {s.case}", None,
                                              problem=f"the worker died (exit {s.proc.exitcode}): a crash"))
                        s.stop()
                        slots[k] = _Slot(ctx, root)
                        continue
                    s.case = None
                    if res.extra.get("retire"):
                        s.stop()
                        slots[k] = _Slot(ctx, root)
                elif not s.proc.is_alive():
                    results.append(Result(s.case, f"{kind} {s.case}", None,
                                          problem=f"the worker died (exit {s.proc.exitcode}): a crash"))
                    s.stop()
                    slots[k] = _Slot(ctx, root)
                elif time.monotonic() > s.deadline:
                    results.append(Result(s.case, f"{kind} {s.case}", None,
                                          problem=f"hang: no answer within {case_seconds:.0f} s"))
                    s.stop(kill=True)
                    slots[k] = _Slot(ctx, root)
    finally:
        for s in slots:
            s.stop(kill=s.case is not None)
        shutil.rmtree(root, ignore_errors=True)
    return sorted(results, key=lambda r: r.index)


def describe(results: list[Result], kind: str, seed: int) -> str:
    bad = [r for r in results if r.problem]
    return "\n".join(f"  {kind} case {r.index} ({r.description}; seed {seed}): {r.problem}" for r in bad[:25])


if __name__ == "__main__":  # python tests/fuzz_models.py [mutated|hostile] [count] [seed]
    sys.path.insert(0, str(Path(__file__).parent))
    kind = sys.argv[1] if len(sys.argv) > 1 else "mutated"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    t0 = time.time()
    rs = run_cases(kind, seed, n)
    codes = {}
    for r in rs:
        codes[r.code] = codes.get(r.code, 0) + 1
    print(describe(rs, kind, seed))
    print(f"{len(rs)} cases, {sum(bool(r.problem) for r in rs)} problems, exit codes {codes}, "
          f"{time.time() - t0:.1f} s, slowest {max(r.seconds for r in rs):.2f} s, "
          f"peak RSS {max(r.rss for r in rs) >> 20} MiB")
