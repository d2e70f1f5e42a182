"""Render the lowered IR as C: model.h, model.c and the kernel sources it calls.

Every C identifier is made here from layer numbers; nothing from the ONNX file
(node or tensor names) reaches the C source.
"""
from __future__ import annotations

import math
import jinja2
import numpy as np

from . import resources
from .bits import pack
from .ir import Graph, Op
from .planner import Plan

CTYPE = {"f32": "float", "i32": "int32_t", "bits": "uint32_t"}
STEP_CODE = {"mul": "EBNN_MUL", "add": "EBNN_ADD", "sub": "EBNN_SUB", "div": "EBNN_DIV",
             "rsub": "EBNN_RSUB", "rdiv": "EBNN_RDIV"}
# Which runtime_c source holds each op's kernel.
KERNEL_FILE = {
    "bdense": "ebnn_dense.c", "dense": "ebnn_dense.c", "dense_binw": "ebnn_dense.c",
    "threshold": "ebnn_activation.c", "unpack": "ebnn_activation.c",
    "affine": "ebnn_chain.c", "binarize": "ebnn_chain.c",
}
HEADERS = ("ebnn_kernels.h",)
STEP_BYTES = 12  # sizeof(ebnn_step) on a 32-bit target


def c_float(v) -> str:
    v = float(np.float32(v))
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    if v == int(v) and abs(v) < 1 << 24 and math.copysign(1.0, v) == math.copysign(1.0, int(v) or 1.0):
        return f"{int(v)}.0f"
    return f"{v.hex()}f"  # hexadecimal: exact, so C and numpy hold the same float


def c_values(ctype: str, values: np.ndarray) -> list[str]:
    flat = np.asarray(values).reshape(-1)
    if ctype == "uint32_t":
        return [f"0x{int(v):08x}u" for v in flat]
    if ctype == "int32_t":
        return [f"{int(v)}" if v != -(1 << 31) else "INT32_MIN" for v in flat]
    return [c_float(v) for v in flat]


class Emitter:
    """Collects the constant arrays and the call of each layer."""

    def __init__(self, graph: Graph, plan: Plan):
        self.graph, self.plan = graph, plan
        self.consts: list[dict] = []
        self.layers: list[dict] = []
        self.uses_math = False
        self.layer_bytes: list[int] = []  # flash bytes of each layer's constants
        self._bytes = 0

    def const(self, name: str, ctype: str, values) -> str:
        vals = c_values(ctype, values)
        self.uses_math |= any(v in ("NAN", "INFINITY", "-INFINITY") for v in vals)
        per_line = 8 if ctype == "uint32_t" else 6
        lines = [", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line)]
        self.consts.append({"ctype": ctype, "name": name, "length": max(len(vals), 1),
                            "body": ",\n    ".join(lines) or "0"})
        self._bytes += 4 * max(len(vals), 1)
        return name

    def ptr(self, tensor: str, writable: bool) -> str:
        g = self.graph
        if tensor == g.input:
            return "input"
        if tensor == g.output:
            return "output"
        ctype = CTYPE[g.tensors[tensor].dtype]
        qual = "" if writable else "const "
        return f"(({qual}{ctype} *)(a + {self.plan.offsets[tensor]}))"

    def steps(self, prefix: str, chain) -> tuple[str, int]:
        if not chain:
            return "(const ebnn_step *)0", 0
        entries = []
        for k, (op, c) in enumerate(chain):
            flat = c.reshape(-1)
            uniform = flat.size > 0 and bool(np.all(flat.view(np.uint32) == flat[:1].view(np.uint32)))
            name = self.const(f"{prefix}_c{k}", "float", flat[:1] if uniform else flat)
            entries.append(f"{{{STEP_CODE[op]}, {0 if uniform else 1}, {name}}}")
        table = f"{prefix}_steps"
        self.consts.append({"ctype": "ebnn_step", "name": table, "length": len(entries),
                            "body": ",\n    ".join(entries)})
        self._bytes += STEP_BYTES * len(entries)
        return table, len(entries)

    def layer(self, index: int, op: Op) -> None:
        g = self.graph
        out_t = g.tensors[op.outputs[0]]
        src, dst = self.ptr(op.inputs[0], False), self.ptr(op.outputs[0], True)
        n, p = out_t.size, f"L{index}"
        self._bytes = 0
        if op.kind in ("bdense", "dense", "dense_binw"):
            w = g.consts[op.attrs["weight"]]
            ctype = "float" if op.kind == "dense" else "uint32_t"
            k = op.attrs.get("k", w.shape[1])
            fn = {"bdense": "ebnn_bdense", "dense": "ebnn_dense_f32", "dense_binw": "ebnn_dense_binw"}[op.kind]
            call = f"{fn}({src}, {self.const(p + '_w', ctype, w)}, {dst}, {k}, {n})"
        elif op.kind == "threshold":
            thr = self.const(p + "_thr", "int32_t", op.attrs["thr"])
            neg = self.const(p + "_neg", "uint32_t", pack(op.attrs["neg"]))
            call = f"ebnn_threshold({src}, {thr}, {neg}, {dst}, {n})"
        elif op.kind == "affine":
            table, count = self.steps(p, op.attrs["chain"])
            suffix = "i32" if g.tensors[op.inputs[0]].dtype == "i32" else "f32"
            call = f"ebnn_affine_{suffix}({src}, {dst}, {n}, {table}, {count})"
        elif op.kind == "binarize":
            table, count = self.steps(p, op.attrs["chain"])
            t = op.attrs["t"].reshape(-1).astype(np.float32)
            uniform = bool(np.all(t.view(np.uint32) == t[:1].view(np.uint32)))
            tname = self.const(p + "_t", "float", t[:1] if uniform else t)
            strict = int(op.attrs["cmp"] == "gt")
            call = (f"ebnn_binarize_f32({src}, {dst}, {n}, {table}, {count}, {tname}, "
                    f"{0 if uniform else 1}, {strict}, {int(op.attrs['invert'])})")
        elif op.kind == "unpack":
            call = f"ebnn_unpack({src}, {dst}, {c_float(op.attrs['hi'])}, {c_float(op.attrs['lo'])}, {n})"
            self.uses_math |= "INF" in call or "NAN" in call
        else:  # pragma: no cover - the IR has no other ops
            raise ValueError(op.kind)
        in_t = g.tensors[op.inputs[0]]
        self.layers.append({"comment": f"layer {index}: {op.kind} {in_t.size} -> {n}", "call": call})
        self.layer_bytes.append(self._bytes)


def render(graph: Graph, plan: Plan, version: str) -> tuple[dict[str, str], list[int]]:
    """(file name -> text of every C file of the model, flash bytes of each layer's constants)."""
    em = Emitter(graph, plan)
    for i, op in enumerate(graph.ops):
        em.layer(i, op)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(resources.templates())),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True,
    )
    ctx = {
        "version": version,
        "consts": em.consts,
        "layers": em.layers,
        "uses_math": em.uses_math,
        "uses_arena": plan.arena_bytes > 0,
        "arena_bytes": plan.arena_bytes,
        "arena_words": max(1, (plan.arena_bytes + 3) // 4),
        "input_size": graph.tensors[graph.input].size,
        "output_size": graph.tensors[graph.output].size,
        "input_shape": "x".join(map(str, graph.input_shape)),
        "output_shape": "x".join(map(str, graph.output_shape)),
    }
    files = {
        "model.h": env.get_template("model.h.j2").render(ctx),
        "model.c": env.get_template("model.c.j2").render(ctx),
    }
    for name in kernel_files(graph):
        files[name] = (resources.runtime_c() / name).read_text()
    return files, em.layer_bytes


def kernel_files(graph: Graph) -> list[str]:
    used = sorted({KERNEL_FILE[op.kind] for op in graph.ops})
    return list(HEADERS) + used

