"""Render the lowered IR as C: model.h, model.c and the kernel sources it calls.

Each op writes its own call (ir/ops/); the emitter gives it the means: constants (whose
flash bytes it counts per layer), pointers into the arena, step tables and window
geometries.  Every C identifier is made here from layer numbers; nothing from the ONNX file
(node or tensor names) reaches the C source.
"""
from __future__ import annotations

import re

import jinja2
import numpy as np

from .. import resources
from ..ir import Graph, Op
from ..ir.ops import OPS
from ..planner import Plan
from .cvalues import c_float, c_values, compress

CTYPE = {"f32": "float", "i32": "int32_t", "bits": "uint32_t", "u8": "uint8_t", "i8": "int8_t"}
STEP_CODE = {"mul": "EBNN_MUL", "add": "EBNN_ADD", "sub": "EBNN_SUB", "div": "EBNN_DIV",
             "rsub": "EBNN_RSUB", "rdiv": "EBNN_RDIV", "abs": "EBNN_ABS", "max": "EBNN_MAX",
             "min": "EBNN_MIN", "prelu": "EBNN_PRELU", "sigmoid": "EBNN_SIGMOID", "tanh": "EBNN_TANH"}
HEADERS = ("ebnn_kernels.h",)  # included by model.c and shipped with every model
NONFINITE = ("NAN", "INFINITY", "-INFINITY")  # need <math.h>
SIZEOF = {"float": 4, "int32_t": 4, "uint32_t": 4, "uint16_t": 2, "uint8_t": 1}
# Flash bytes of the structs on a 32-bit target.
STEP_BYTES = 12
WINDOW_BYTES = 14 * 4
HUFF_TABLE_BYTES = 20


class Emitter:
    """Collects the constants and the call of each layer."""

    def __init__(self, graph: Graph, plan: Plan):
        self.graph, self.plan = graph, plan
        self.consts: list[str] = []
        self.layers: list[dict] = []
        self.uses_math = False
        self.layer_bytes: list[int] = []  # flash bytes of each layer's constants
        self.index, self.p = 0, ""  # the layer being emitted, and the prefix of its C names
        self._bytes = 0
        self.huff_emitted = False

    # -- constants --------------------------------------------------------------------------
    def const(self, name: str, ctype: str, values) -> str:
        vals = c_values(ctype, values) or ["0"]
        self.uses_math |= any(v in NONFINITE for v in vals)
        per_line = 8 if ctype == "uint32_t" else 6
        lines = ",\n    ".join(", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line))
        self.consts.append(f"static const {ctype} {name}[{len(vals)}] = {{\n    {lines}\n}};")
        self._bytes += SIZEOF[ctype] * len(vals)
        return name

    def float(self, v) -> str:
        """A float literal in a call (exact: hexadecimal)."""
        text = c_float(v)
        self.uses_math |= text in NONFINITE
        return text

    def period(self, values, channels: int) -> int:
        """How many leading values of a per-element constant the C needs (it reads c[i % period])."""
        return compress(values, channels)[1]

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

    def window(self, op: Op, cin: int, suffix: str = "_g") -> str:
        """The window geometry (``ebnn_window``) of a convolution or pooling layer (``suffix``
        names a second one of the layer: a fused epilogue's)."""
        a = op.attrs
        dst = self.graph.tensors[op.result]
        (h, w), (ho, wo) = a["in_hw"], a["out_hw"]
        fields = [h, w, cin, ho, wo, dst.channels, *a["kernel"], *a["stride"], a["pad"][0], a["pad"][1],
                  *a["dilation"]]
        self.consts.append(f"static const ebnn_window {self.p}{suffix} = {{{', '.join(map(str, fields))}}};")
        self._bytes += WINDOW_BYTES
        return f"&{self.p}{suffix}"

    def huffman_table(self) -> str:
        """The model's shared Huffman table, emitted once (its bytes go to the first user)."""
        if not self.huff_emitted:
            g = self.graph
            names = [self.const(f"huff_{k}", "uint16_t", g.consts[f"huff_{k}"]) for k in ("first", "count", "offset")]
            symbols = self.const("huff_symbols", "uint8_t", g.consts["huff_symbols"])
            self.consts.append(f"static const ebnn_huff huff_table = {{{', '.join(names)}, {symbols}, "
                               f"{int(g.consts['huff_max_len'])}}};")
            self._bytes += HUFF_TABLE_BYTES
            self.huff_emitted = True
        return "&huff_table"

    # -- pointers -----------------------------------------------------------------------------
    def ptr(self, tensor: str, writable: bool) -> str:
        g = self.graph
        if tensor == g.input:
            return "input"
        if tensor == g.output:
            return "output"
        ctype = CTYPE[g.tensors[tensor].dtype]
        qual = "" if writable else "const "
        return f"(({qual}{ctype} *)(a + {self.plan.offsets[tensor]}))"

    def src(self, op: Op, i: int = 0) -> str:
        return self.ptr(op.inputs[i], False)

    def dst(self, op: Op, i: int = 0) -> str:
        return self.ptr(op.outputs[i], True)

    def scratch_ptr(self) -> str:
        """The current layer's arena scratch as a uint32_t pointer."""
        return f"((uint32_t *)(a + {self.plan.scratch[self.index]}))"

    def scratch(self, op: Op) -> str:
        """The layer's arena scratch: pointer and words."""
        return f"{self.scratch_ptr()}, {op.attrs['scratch_bytes'] // 4}"

    def epilogue_args(self, op: Op) -> str:
        """The arguments a fused kernel takes for op's epilogues (after its own), each after ", "."""
        return self.epilogue_args_of(op.epilogues)

    def epilogue_args_of(self, epilogues: list[Op]) -> str:
        """The arguments of these epilogues, each after ", "."""
        return "".join(f", {arg}" for e in epilogues for arg in OPS[e.kind].epilogue_args(self, e))

    # -- layers -------------------------------------------------------------------------------
    def layer(self, index: int, op: Op) -> None:
        self.index, self.p, self._bytes = index, f"L{index}", 0
        call = OPS[op.kind].c_call(self, op)
        shape = "x".join(map(str, self.graph.tensors[op.outputs[0]].shape))
        self.layers.append({"comment": f"layer {index}: {op.label} -> {shape}", "call": call})
        # which C function runs the layer: the design assistant's cost model is per function
        op.attrs["c_function"] = re.match(r"(\w+)\(", call).group(1)
        self.layer_bytes.append(self._bytes)


def render(graph: Graph, plan: Plan, version: str) -> tuple[dict[str, str], list[int]]:
    """(file name -> text of every C file of the model, flash bytes of each layer's constants)."""
    em = Emitter(graph, plan)
    for i, op in enumerate(graph.ops):
        em.layer(i, op)
    sources = kernel_files(graph)
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
        "input_ctype": CTYPE[graph.tensors[graph.input].dtype],
        "input_what": _input_what(graph),
        "output_size": graph.tensors[graph.output].size,
        "output_ctype": CTYPE[graph.tensors[graph.output].dtype],
        "output_what": "int32 indices" if graph.tensors[graph.output].dtype == "i32" else "float32 values",
        "input_shape": "x".join(map(str, graph.input_shape)),
        "output_shape": "x".join(map(str, graph.output_shape)),
        "extra_headers": [name for name in sources if name.endswith(".h") and name not in HEADERS],
    }
    files = {
        "model.h": env.get_template("model.h.j2").render(ctx),
        "model.c": env.get_template("model.c.j2").render(ctx),
    }
    for name in sources:
        files[name] = (resources.runtime_c() / name).read_text()
    return files, em.layer_bytes


def _input_what(graph: Graph) -> str:
    q = graph.input_quant
    if not q:
        return "float32 values"
    return (f"{q['type']} codes q, read as x = {q['scale']!r} * (q - {q['zero_point']}) "
            "(float32 of the double product)")


def kernel_files(graph: Graph) -> list[str]:
    """The runtime_c files the model's kernels need: the shared header, then the ops' own."""
    used = {name for op in graph.ops for name in OPS[op.kind].sources(graph, op)}
    return list(HEADERS) + sorted(used - set(HEADERS))
