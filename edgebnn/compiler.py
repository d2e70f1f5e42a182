"""The pipeline: ONNX -> IR -> passes -> plan -> C + report, written atomically."""
from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np

from . import codegen, frontend, outdir, passes, planner, targets
from . import report as reports
from .codegen import sizes
from .passes import int_input
from .ir import Graph
from .ir.reference import Reference
from .report import budget
from .report import jsontext
from .report import markdown as report_md
from .version import __version__


class CompiledModel:
    def __init__(self, out_dir: Path, report: dict, graph: Graph, temporary: bool = False):
        self.out_dir = Path(out_dir)
        self.report = report
        self.graph = graph
        self._host = None
        if temporary:  # compile(out_dir=None): the folder goes with the object
            weakref.finalize(self, shutil.rmtree, str(self.out_dir), True)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Run the emitted C (built for the host on first use) on a batch."""
        from .check.harness import HostModel

        if self._host is None:
            g = self.graph
            self._host = HostModel(self.out_dir, g.tensors[g.input].size, g.tensors[g.output].size)
        x = int_input.input_array(self.graph, x)
        _check_input(self.graph, x)
        return self._host.run(x).reshape((len(x),) + tuple(self.graph.output_shape[1:]))

    def emulate(self, x: np.ndarray, timeout: float | None = None) -> tuple[np.ndarray, dict]:
        """Run the emitted C under QEMU on the target's Cortex-M: (outputs, stats); see check/emulate.py."""
        from .check.emulate import emulate

        return emulate(self, x, timeout=timeout)


def _check_input(graph: Graph, x: np.ndarray) -> None:
    if tuple(x.shape[1:]) != tuple(graph.input_shape[1:]):
        raise ValueError(f"input of shape {x.shape}: expected (N, {', '.join(map(str, graph.input_shape[1:]))})")


def lowered(model, weights: str = "size", kernels: str = "optimized", inputs: tuple = ("float32",),
            fuse: bool = True, least_sram: bool = False) -> Graph:
    graph = model if isinstance(model, Graph) else frontend.load(model)
    return passes.lower(graph, weights, kernels, inputs, fuse, least_sram)


def reference(model) -> Reference:
    return Reference(lowered(model))


def analyse(model, target="cortex-m4", sram=None, flash=None, weights="size", kernels="optimized",
            inputs: tuple = ("float32",), fuse: bool = True):
    """(lowered graph, C files, report) without writing anything; ``sram``/``flash``
    override the target's budget (bytes, or '2KiB', '512K', '1MiB'); ``weights``: sparse
    layers stored for the smallest flash ("size") or a direct inner loop ("speed");
    ``kernels``: "optimized" (default) or "reference" (the portable kernels); ``inputs``:
    (input_type, input_scale, input_zero_point) as ``compile`` takes them; ``fuse=False``: no
    epilogues (passes.lower), to measure what fusion saves."""
    tgt = targets.get(target).with_budget(sram, flash)
    graph = model if isinstance(model, Graph) else frontend.load(model)
    built = _build(graph, tgt, weights, kernels, inputs, fuse, False)
    if not built[2]["budget"]["sram_fits"] and _lists(built[0]):  # the kernels that need the least SRAM
        lean = _build(graph, tgt, weights, kernels, inputs, fuse, True)
        if lean[2]["memory"]["sram_bytes"] < built[2]["memory"]["sram_bytes"]:
            lean[2]["kernel_choice"] = "least SRAM: the default kernels did not fit the SRAM budget"
            return lean
    return built


def _lists(graph: Graph) -> bool:
    """Whether a layer keeps a list of set bits in the arena that graph.least_sram would drop."""
    return any(op.kind == "bdense" and op.attrs.get("c_kernel") == "transposed" for op in graph.ops)


def _build(graph, tgt, weights, kernels, inputs, fuse, least_sram):
    graph = passes.lower(graph, weights, kernels, inputs, fuse, least_sram)
    plan = planner.plan(graph)
    files, layer_bytes = codegen.render(graph, plan, __version__)
    return graph, files, reports.build(graph, plan, tgt, layer_bytes, sizes.measure(files, tgt))


def report_files(rep: dict, picture: bool = True) -> dict:
    """report.json, report.md and (unless not wanted) the memory-timeline picture."""
    from .report import timeline

    files = {"report.json": jsontext.dumps(rep, indent=2) + "\n",
             "report.md": report_md.render(rep, "memory.png" if picture else None)}
    if picture:
        files["memory.png"] = timeline.png(rep)
    return files


def compile(model, target="cortex-m4", out_dir=None, *, sram=None, flash=None,  # noqa: A001 - the API's name
            allow_overflow=False, weights="size", kernels="optimized", input_type="float32", input_scale=None,
            input_zero_point=None) -> CompiledModel:
    """Compile to C in ``out_dir``.  A model that does not fit the target's SRAM or flash
    raises budget.BudgetError (nothing written) unless ``allow_overflow``.  Without an
    ``out_dir`` (a temporary folder, for run/emulate) the picture is not drawn: it costs
    more than the rest of a small compile.  ``input_type`` "uint8" or "int8": the C takes
    integer codes q read as ``x = input_scale * (q - input_zero_point)`` (defaults 1/255
    and 1/128, zero point 0; passes/int_input.py); the first op must binarize or scale x."""
    inputs = (input_type, input_scale, input_zero_point)
    graph, files, rep = analyse(model, target, sram, flash, weights, kernels, inputs)
    if not allow_overflow:
        budget.check(rep)
    files.update(report_files(rep, picture=out_dir is not None))
    if out_dir is None:  # a private temporary folder of our own
        out = Path(tempfile.mkdtemp(prefix="edgebnn-"))
        for name, content in files.items():
            (out / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    else:
        out = outdir.write(out_dir, files)
    return CompiledModel(out, rep, graph, temporary=out_dir is None)
