"""Render the lowered IR as C: model.h, model.c and the kernel sources it calls.

Every C identifier is made here from layer numbers; nothing from the ONNX file
(node or tensor names) reaches the C source.
"""
from __future__ import annotations

import re

import jinja2
import numpy as np

from .. import resources
from ..ir import Graph, Op
from ..ir.bits import pack
from ..planner import Plan
from . import optimized as codegen_opt
from .cvalues import c_float, c_values, compress

CTYPE = {"f32": "float", "i32": "int32_t", "bits": "uint32_t"}
STEP_CODE = {"mul": "EBNN_MUL", "add": "EBNN_ADD", "sub": "EBNN_SUB", "div": "EBNN_DIV",
             "rsub": "EBNN_RSUB", "rdiv": "EBNN_RDIV", "abs": "EBNN_ABS"}
# Which runtime_c source holds each op's kernel.
KERNEL_FILE = {
    "bdense": "ebnn_dense.c", "combine": "ebnn_sparse.c", "dense": "ebnn_dense.c", "dense_binw": "ebnn_dense.c",
    "bconv": "ebnn_conv.c", "conv": "ebnn_conv.c", "maxpool": "ebnn_pool.c", "avgpool": "ebnn_pool.c",
    "threshold": "ebnn_activation.c", "unpack": "ebnn_activation.c", "gather": "ebnn_activation.c",
    "affine": "ebnn_chain.c", "binarize": "ebnn_chain.c", "scale_rows": "ebnn_chain.c", "mean_rows": "ebnn_chain.c",
}
HEADERS = ("ebnn_kernels.h",)
SPARSE_FORMATS = ("masked", "words", "huffman")  # kernels in ebnn_sparse.c
SIZEOF = {"float": 4, "int32_t": 4, "uint32_t": 4, "uint16_t": 2, "uint8_t": 1}
# Flash bytes of the structs on a 32-bit target.
STEP_BYTES = 12
WINDOW_BYTES = 14 * 4


class Emitter:
    """Collects the constants and the call of each layer."""

    def __init__(self, graph: Graph, plan: Plan, kernels: str = "optimized"):
        self.graph, self.plan = graph, plan
        self.kernels = kernels  # "optimized" (codegen_opt.py) or "reference" (the portable kernels)
        self.fused: dict[int, int] = {}  # id(threshold op) -> the layer that computes it
        self.opt_files: set[str] = set()
        self.consts: list[str] = []
        self.layers: list[dict] = []
        self.uses_math = False
        self.layer_bytes: list[int] = []  # flash bytes of each layer's constants
        self._bytes = 0
        self.huff_emitted = False

    def const(self, name: str, ctype: str, values) -> str:
        vals = c_values(ctype, values) or ["0"]
        self.uses_math |= any(v in ("NAN", "INFINITY", "-INFINITY") for v in vals)
        per_line = 8 if ctype == "uint32_t" else 6
        lines = ",\n    ".join(", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line))
        self.consts.append(f"static const {ctype} {name}[{len(vals)}] = {{\n    {lines}\n}};")
        self._bytes += SIZEOF[ctype] * len(vals)
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

    def per_element(self, name: str, ctype: str, values, channels: int) -> tuple[str, int]:
        part, mod = compress(values, channels)
        return self.const(name, ctype, part), mod

    def steps(self, prefix: str, chain, channels: int) -> tuple[str, int]:
        if not chain:
            return "(const ebnn_step *)0", 0
        entries = []
        for k, (op, c) in enumerate(chain):
            name, mod = self.per_element(f"{prefix}_c{k}", "float", c.astype(np.float32), channels)
            entries.append(f"{{{STEP_CODE[op]}, {mod}, {name}}}")
        self.consts.append(f"static const ebnn_step {prefix}_steps[{len(entries)}] = {{\n    "
                           + ",\n    ".join(entries) + "\n};")
        self._bytes += STEP_BYTES * len(entries)
        return f"{prefix}_steps", len(entries)

    def window(self, prefix: str, op: Op) -> str:
        a = op.attrs
        src, dst = self.graph.tensors[op.inputs[0]], self.graph.tensors[op.outputs[0]]
        (h, w), (ho, wo) = a["in_hw"], a["out_hw"]
        cin = a["in_chw"][0] if op.kind == "conv" else src.channels  # conv reads through strides
        fields = [h, w, cin, ho, wo, dst.channels, *a["kernel"], *a["stride"], a["pad"][0], a["pad"][1],
                  *a["dilation"]]
        self.consts.append(f"static const ebnn_window {prefix}_g = {{{', '.join(map(str, fields))}}};")
        self._bytes += WINDOW_BYTES
        return f"&{prefix}_g"

    def huffman_table(self) -> str:
        """The model's shared Huffman table, emitted once (its bytes go to the first user)."""
        if not self.huff_emitted:
            g = self.graph
            names = [self.const(f"huff_{k}", "uint16_t", g.consts[f"huff_{k}"]) for k in ("first", "count", "offset")]
            symbols = self.const("huff_symbols", "uint8_t", g.consts["huff_symbols"])
            self.consts.append(f"static const ebnn_huff huff_table = {{{', '.join(names)}, {symbols}, "
                               f"{int(g.consts['huff_max_len'])}}};")
            self._bytes += 20
            self.huff_emitted = True
        return "&huff_table"

    def sparse(self, p: str, op: Op, src: str, dst: str) -> str:
        g, a = self.graph, op.attrs
        src_t = g.tensors[op.inputs[0]]
        n = g.tensors[op.outputs[0]].size
        if a["format"] == "words":
            arrays = [self.const(f"{p}_{k}", ctype, g.consts[a[k]]) for k, ctype in
                      (("ends", "uint32_t"), ("index", "uint16_t"), ("wmask", "uint32_t"), ("wsign", "uint32_t"))]
            if op.kind == "bdense":
                return f"ebnn_bdense_words({src}, {', '.join(arrays)}, {dst}, {n})"
            return f"ebnn_bconv_words({src}, {', '.join(arrays)}, {dst}, {self.window(p, op)}, {a['pad_mode']})"
        if a["format"] == "masked":
            w = self.const(p + "_w", "uint32_t", g.consts[a["weight"]])
            m = self.const(p + "_m", "uint32_t", g.consts[a["mask"]])
            if op.kind == "bdense":
                return f"ebnn_bdense_masked({src}, {w}, {m}, {dst}, {src_t.words}, {n})"
            return f"ebnn_bconv_masked({src}, {w}, {m}, {dst}, {self.window(p, op)}, {a['pad_mode']})"
        table = self.huffman_table()
        code = self.const(p + "_code", "uint32_t", g.consts[a["code"]])
        signs = self.const(p + "_signs", "uint32_t", g.consts[a["signs"]]) if a["signs"] else "(const uint32_t *)0"
        scratch = self.ptr(op.outputs[1], True)
        if op.kind == "bdense":
            return f"ebnn_bdense_huff({src}, {table}, {code}, {signs}, {dst}, {src_t.words}, {n}, {scratch})"
        return (f"ebnn_bconv_huff({src}, {table}, {code}, {signs}, {dst}, {self.window(p, op)}, "
                f"{a['pad_mode']}, {scratch})")

    def layer(self, index: int, op: Op) -> None:
        g = self.graph
        src_t, out_t = g.tensors[op.inputs[0]], g.tensors[op.outputs[0]]
        src, dst = self.ptr(op.inputs[0], False), self.ptr(op.outputs[0], True)
        n, p, rc = out_t.size, f"L{index}", f"{out_t.rows}, {out_t.channels}"
        self._bytes = 0
        a = op.attrs
        opt = codegen_opt.layer(self, index, op, src, dst) if self.kernels == "optimized" else None
        if opt is not None:
            call = opt
        elif op.kind in ("bdense", "bconv") and a.get("format") in SPARSE_FORMATS:
            call = self.sparse(p, op, src, dst)
        elif op.kind == "combine":
            gamma = self.const(p + "_gamma", "float", a["gamma"])
            beta = self.const(p + "_beta", "float", a["beta"])
            call = f"ebnn_combine({src}, {self.ptr(op.inputs[1], False)}, {gamma}, {beta}, {dst}, {rc})"
        elif op.kind == "bdense":
            w = self.const(p + "_w", "uint32_t", g.consts[a["weight"]])
            call = f"ebnn_bdense({src}, {w}, {dst}, {a['k']}, {src_t.words}, {n})"
        elif op.kind in ("dense", "dense_binw"):
            ctype = "float" if op.kind == "dense" else "uint32_t"
            fn = "ebnn_dense_f32" if op.kind == "dense" else "ebnn_dense_binw"
            call = f"{fn}({src}, {self.const(p + '_w', ctype, g.consts[a['weight']])}, {dst}, {src_t.size}, {n})"
        elif op.kind == "bconv":
            w = self.const(p + "_w", "uint32_t", g.consts[a["weight"]])
            call = f"ebnn_bconv({src}, {w}, {dst}, {self.window(p, op)}, {a['pad_mode']})"
        elif op.kind == "conv":
            w = self.const(p + "_w", "float", g.consts[a["weight"]])
            sc, sh, sw = a["strides_in"]
            call = f"ebnn_conv_f32({src}, {w}, {dst}, {self.window(p, op)}, {sc}, {sh}, {sw})"
        elif op.kind == "maxpool":
            geom = self.window(p, op)
            if src_t.dtype == "i32":
                use_min = self.const(p + "_min", "uint32_t", pack(a["use_min"]))
                call = f"ebnn_maxpool_i32({src}, {dst}, {geom}, {use_min})"
            else:
                call = f"ebnn_maxpool_{'bits' if src_t.dtype == 'bits' else 'f32'}({src}, {dst}, {geom})"
        elif op.kind == "avgpool":
            call = (f"ebnn_avgpool_f32({src}, {dst}, {self.window(p, op)}, {a['pad'][2]}, {a['pad'][3]}, "
                    f"{int(a['count_pad'])})")
        elif op.kind == "threshold":
            _, mod = compress(a["thr"].astype(np.int64) * 2 + a["neg"], out_t.channels)
            thr = self.const(p + "_thr", "int32_t", a["thr"][:mod])
            neg_name = self.const(p + "_neg", "uint32_t", pack(a["neg"][:mod]))
            call = f"ebnn_threshold({src}, {thr}, {neg_name}, {mod}, {dst}, {rc})"
        elif op.kind == "affine":
            table, count = self.steps(p, a["chain"], out_t.channels)
            suffix = "i32" if src_t.dtype == "i32" else "f32"
            call = f"ebnn_affine_{suffix}({src}, {dst}, {n}, {table}, {count})"
        elif op.kind == "binarize":
            table, count = self.steps(p, a["chain"], out_t.channels)
            t, mod = self.per_element(p + "_t", "float", a["t"].astype(np.float32), out_t.channels)
            strict = int(a["cmp"] == "gt")
            call = f"ebnn_binarize_f32({src}, {dst}, {rc}, {table}, {count}, {t}, {mod}, {strict}, {int(a['invert'])})"
        elif op.kind == "unpack":
            call = f"ebnn_unpack({src}, {dst}, {c_float(a['hi'])}, {c_float(a['lo'])}, {rc})"
            self.uses_math |= "INF" in call or "NAN" in call
        elif op.kind == "scale_rows":
            call = f"ebnn_scale_rows({src}, {self.ptr(op.inputs[1], False)}, {dst}, {rc})"
        elif op.kind == "mean_rows":
            call = f"ebnn_mean_rows({src}, {dst}, {src_t.rows}, {src_t.channels})"
        elif op.kind == "gather":
            call = f"ebnn_gather_f32({src}, {dst}, {self.const(p + '_idx', 'int32_t', a['index'])}, {n})"
        else:  # pragma: no cover - the IR has no other ops
            raise ValueError(op.kind)
        shape = "x".join(map(str, out_t.shape))
        self.layers.append({"comment": f"layer {index}: {op.kind} -> {shape}", "call": call})
        # which C function runs the layer (optimised or portable; none when fused into the
        # one before): the design assistant's cost model is per function
        called = re.match(r"(\w+)\(", call)
        op.attrs["c_function"] = called.group(1) if called else "none"
        self.layer_bytes.append(self._bytes)


def render(graph: Graph, plan: Plan, version: str, kernels: str = "optimized") -> tuple[dict[str, str], list[int]]:
    """(file name -> text of every C file of the model, flash bytes of each layer's constants)."""
    em = Emitter(graph, plan, kernels)
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
        "extra_headers": [codegen_opt.HEADER] if em.opt_files else [],
    }
    files = {
        "model.h": env.get_template("model.h.j2").render(ctx),
        "model.c": env.get_template("model.c.j2").render(ctx),
    }
    extra = codegen_opt.files(em.opt_files)
    for name in kernel_files(graph) + extra:
        files[name] = (resources.runtime_c() / name).read_text()
    return files, em.layer_bytes


def kernel_files(graph: Graph) -> list[str]:
    used = {KERNEL_FILE[op.kind] for op in graph.ops}
    if any(op.attrs.get("format") in SPARSE_FORMATS for op in graph.ops):
        used.add("ebnn_sparse.c")
    return list(HEADERS) + sorted(used)
