"""edgebnn compile | inspect | plan | validate | emulate | design | targets."""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from . import compiler, outdir, targets
from .errors import EdgebnnError
from .report import jsontext
from .report import markdown as report_md
from .version import __version__

_table = report_md.text_table
INTERRUPTED = "edgebnn: interrupted; any earlier output is left as it was"


def _short(name: str, limit: int = 28) -> str:
    clean = "".join(c if c.isprintable() else "?" for c in str(name))
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."


def layer_table(report: dict) -> str:
    rows = [[i, _short(r["name"]), report_md.op_label(r), "x".join(map(str, r["input_shape"])) or "-",
             "x".join(map(str, r["output_shape"])) or "-",
             "binary" if r["binary_macs"] else ("real" if r["real_macs"] else "-"),
             r["weights"], r["binary_macs"] + r["real_macs"], r["weight_bytes"],
             "-" if r["bits_per_weight"] is None else f"{r['bits_per_weight']:.2f}"]
            for i, r in enumerate(report["layers"])]
    return _table(rows, ["#", "layer", "op", "in", "out", "kind", "params", "MACs", "flash B", "bits/w"])


def memory_summary(report: dict) -> str:
    m, b = report["memory"], report["budget"]
    stack = "measured" if m["stack_source"].startswith("measured") else "estimate"
    return (f"target {report['target']}: flash {m['flash_bytes']} B (weights {m['weight_bytes']}, code "
            f"{m['code_bytes']} {m['code_source']}) of {b['flash_bytes']}; SRAM {m['sram_bytes']} B (arena "
            f"{m['arena_bytes']}, lower bound {m['lower_bound_bytes']}, stack {m['stack_bytes']} {stack}, "
            f"input/output {m['io_bytes']}, statics {m['static_bytes']}) of {b['sram_bytes']}; "
            f"{'fits' if b['fits'] else 'DOES NOT FIT'}")


def _suggestions(model, report) -> list[str]:
    """What brings a model that does not fit under budget (report/suggest.py: re-analysed figures)."""
    from .report.suggest import suggestions

    return [f"suggestion: {line}" for line in suggestions(model, report)]


def cmd_compile(args) -> int:
    from .report.budget import BudgetError

    outdir.check(args.output)
    try:
        compiled = compiler.compile(args.model, target=args.target, out_dir=args.output, sram=args.sram,
                                    flash=args.flash, allow_overflow=args.allow_overflow, weights=args.weights,
                                    kernels=args.kernels, **_input_kwargs(args))
    except BudgetError as exc:
        report = compiler.analyse(args.model, args.target, args.sram, args.flash, args.weights,
                                  args.kernels, _input_tuple(args))[-1]
        exc.details = "\n".join([exc.details, *_suggestions(args.model, report)])
        raise
    print(layer_table(compiled.report))
    print(memory_summary(compiled.report))
    if not compiled.report["budget"]["fits"]:
        print(report_md.overflow_table(compiled.report))
        print("warning: written anyway (--allow-overflow)")
    print(f"wrote {compiled.out_dir}")
    return 0


def cmd_plan(args) -> int:
    if args.output is not None:
        outdir.check(args.output)
    report = compiler.analyse(args.model, args.target, args.sram, args.flash, args.weights,
                              inputs=_input_tuple(args))[-1]
    if args.output:
        outdir.write(args.output, compiler.report_files(report))
    if args.json:
        print(jsontext.dumps(report, indent=2))
        return 0
    print(report_md.plan_table(report))
    print(report_md.budget_lines(report))
    print(report_md.planner_lines(report))
    m = report["memory"]
    print(f"stack {m['stack_bytes']} B ({m['stack_source']}): {' -> '.join(m['stack_chain']) or '-'}")
    if not report["budget"]["fits"]:
        print(report_md.overflow_table(report))
        print("\n".join(_suggestions(args.model, report)))
    print(f"target {report['target']}: {'fits' if report['budget']['fits'] else 'DOES NOT FIT'}")
    if args.output:
        print(f"wrote {args.output}/report.md, report.json, memory.png")
    return 0


def cmd_inspect(args) -> int:
    report = compiler.analyse(args.model, args.target, args.sram, args.flash, args.weights,
                              inputs=_input_tuple(args))[-1]
    if args.json:
        print(jsontext.dumps(report, indent=2))
    else:
        print(layer_table(report))
        t = report["totals"]
        print(f"{t['binary_macs']} binary MACs, {t['real_macs']} real MACs")
        print(memory_summary(report))
    return 0


def _input_tuple(args) -> tuple:
    return args.input_type, args.input_scale, args.input_zero_point


def _input_kwargs(args) -> dict:
    return {"input_type": args.input_type, "input_scale": args.input_scale, "input_zero_point": args.input_zero_point}


def _inputs(args, shape) -> np.ndarray:
    if not args.inputs:
        rng = np.random.default_rng(args.seed)
        size = (args.random,) + tuple(shape[1:])
        if args.input_type != "float32":  # every code of the integer type, uniformly
            info = np.iinfo(args.input_type)
            return rng.integers(info.min, info.max, size=size, endpoint=True).astype(args.input_type)
        return rng.standard_normal(size).astype(np.float32)
    x = _npy(args.inputs)
    want = f"(N, {', '.join(map(str, shape[1:]))})"
    if x.ndim != len(shape) or tuple(x.shape[1:]) != tuple(shape[1:]) or not len(x):
        raise EdgebnnError(f"inputs '{args.inputs}' of shape {list(x.shape)}: the model takes {want} with N >= 1")
    if not np.all(np.isfinite(x)):
        raise EdgebnnError(f"inputs '{args.inputs}' hold NaN or infinite values: give finite inputs")
    if args.input_type != "float32":
        info = np.iinfo(args.input_type)
        if not (np.all(x == np.round(x)) and x.min() >= info.min and x.max() <= info.max):
            raise EdgebnnError(f"inputs '{args.inputs}': --input-type {args.input_type} takes integers in "
                               f"{info.min}..{info.max}")
        return x.astype(args.input_type)
    return x


def _npy(path: str) -> np.ndarray:
    """A numeric .npy array (no pickles), as float32."""
    try:
        with open(path, "rb") as f:
            if f.read(6) != b"\x93NUMPY":
                raise EdgebnnError(f"inputs '{path}' is not a .npy file: save the inputs with numpy.save")
            f.seek(0)
            x = np.load(f, allow_pickle=False)
    except OSError as exc:
        raise EdgebnnError(f"cannot read inputs '{path}': {exc.strerror or exc}") from None
    except ValueError as exc:
        raise EdgebnnError(f"inputs '{path}' is not a numeric .npy array ({exc}): save a float array "
                           "with numpy.save") from None
    if x.dtype.kind not in "fiub":
        raise EdgebnnError(f"inputs '{path}' holds {x.dtype} values: save a float array with numpy.save")
    return x.astype(np.float32)


def cmd_validate(args) -> int:
    from .check.validate import validate

    graph = compiler.lowered(args.model)
    result = validate(args.model, _inputs(args, graph.input_shape), kernels=args.kernels, inputs=_input_tuple(args))
    if args.json:
        print(jsontext.dumps(result, indent=2))
        return 0 if result["ok"] else 1
    n = result["inputs"]
    ref = result["c_vs_reference"]
    print(f"{n} inputs")
    print(f"C vs reference:   {'identical' if ref['identical'] else 'DIFFERENT'} "
          f"(class agrees on {ref['class_agree']}/{n}, max relative error {ref['max_rel_error']:.3g})")
    if "c_vs_tflite" in result:
        _print_tflite(result["c_vs_tflite"], n)
    else:
        _print_onnxruntime(result, n)
    print("OK" if result["ok"] else "MISMATCH")
    return 0 if result["ok"] else 1


def _print_tflite(o: dict, n: int) -> None:
    if "skipped" in o:
        print(f"C vs TFLite:      skipped ({o['skipped']})")
    else:
        print(f"C vs TFLite:      class agrees on {o['class_agree']}/{n}, max relative error "
              f"{o['max_rel_error']:.3g} ({o['interpreter']} interpreter)")


def _print_onnxruntime(result: dict, n: int) -> None:
    o = result["c_vs_onnxruntime"]
    if "skipped" in o:
        print(f"C vs onnxruntime: skipped ({o['skipped']})")
    else:
        print(f"C vs onnxruntime: class agrees on {o['class_agree']}/{n}, max relative error "
              f"{o['max_rel_error']:.3g}; exactly-zero Sign inputs (ONNX 0, edgebnn +1): "
              f"{result['zero_sign_inputs']}")


def cmd_emulate(args) -> int:
    # QEMU's boards have megabytes: emulate a model whatever the part's budget (noted below).
    if args.output is not None:
        outdir.check(args.output)
    compiled = compiler.compile(args.model, target=args.target, out_dir=args.output, allow_overflow=True,
                                kernels=args.kernels, **_input_kwargs(args))
    args.random = args.n or 10
    x = _inputs(args, compiled.graph.input_shape)[: args.n]
    _, stats = compiled.emulate(x, timeout=args.timeout)
    if args.json:
        print(jsontext.dumps(stats, indent=2))
        return 0 if stats["identical"] else 1
    rows = [[i, _short(r["name"]), report_md.op_label(r), c] for i, (r, c) in
            enumerate(zip(compiled.report["layers"], stats["per_layer_instructions"]))]
    print(_table(rows, ["#", "layer", "op", "instructions (QEMU -icount, not cycles)"]))
    print(f"{stats['inferences']} inferences on QEMU {stats['machine']} ({stats['target']}): "
          f"{stats['instructions_per_inference']} instructions per inference (min {stats['instructions_min']}, "
          f"max {stats['instructions_max']}; {stats['unit']})")
    shown = ", ".join(map(str, stats["instructions"][:10])) + (", ..." if stats["inferences"] > 10 else "")
    print(f"per inference: {shown}")
    print(f"image (arm-none-eabi-size): flash {stats['flash_bytes']} B, RAM {stats['ram_bytes']} B; "
          f"the model's own objects: flash {stats['model_flash_bytes']} B, RAM {stats['model_ram_bytes']} B")
    if not compiled.report["budget"]["fits"]:
        print(f"note: the model does not fit {args.target}'s budget (see `edgebnn inspect`); QEMU's board has more memory")
    print(f"outputs vs host build: {'identical' if stats['identical_to_host'] else 'DIFFERENT'}; "
          f"vs reference: {'identical' if stats['identical_to_reference'] else 'DIFFERENT'}")
    return 0 if stats["identical"] else 1


def cmd_targets(args) -> int:
    rows = []
    for name in targets.available():
        t = targets.get(name)
        rows.append([t.name, t.alias_of or "-", t.core, t.sram_bytes, t.flash_bytes, t.clock_hz // 1000000 or "-",
                     "yes" if t.fpu else "no", "yes" if t.dsp else "no", "yes" if t.popcount else "no",
                     t.qemu_machine or "-", t.description])
    print(_table(rows, ["target", "alias of", "core", "SRAM B", "flash B", "MHz", "FPU", "DSP", "popcount",
                        "QEMU", "description"]))
    return 0


def _budget_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default="cortex-m4", help="device (see `edgebnn targets`; default cortex-m4)")
    p.add_argument("--sram", help="SRAM budget instead of the target's: bytes, or 2KiB, 512K, 1MiB")
    p.add_argument("--flash", help="flash budget instead of the target's: bytes, or 2KiB, 512K, 1MiB")
    p.add_argument("--weights", choices=["size", "speed"], default="size",
                   help="sparse layers' weights: smallest flash (default, may Huffman-code them) "
                        "or a direct inner loop (masked or word-list only)")


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--input-type", choices=["float32", "uint8", "int8"], default="float32",
                   help="the C's input: float32 (default), or integer codes q read as scale * (q - zero point); "
                        "the model's first op must binarize or scale its input")
    p.add_argument("--input-scale", type=float, default=None,
                   help="scale of integer inputs (default 1/255 for uint8, 1/128 for int8)")
    p.add_argument("--input-zero-point", type=int, default=None, help="zero point of integer inputs (default 0)")


def _kernels_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kernels", choices=["optimized", "reference"], default="optimized",
                   help="optimised kernels per target (default) or the portable reference kernels")


def count(text: str) -> int:
    """A positive whole number (argparse turns the ValueError into a usage error, exit 2)."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give a count of 1 or more")
    return value


def seconds(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text}: give a positive number of seconds")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, exit status 2, like every other user error."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="edgebnn", description="Compile binary neural networks from ONNX to C.")
    p.add_argument("--version", action="version", version=f"edgebnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    c = sub.add_parser("compile", help="compile an ONNX model to C")
    c.add_argument("model")
    _budget_options(c)
    c.add_argument("-o", "--output", default="out", help="output folder (default: out)")
    c.add_argument("--allow-overflow", action="store_true",
                   help="write the C even when the model does not fit the target's SRAM or flash")
    _kernels_option(c)
    _input_options(c)
    c.set_defaults(fn=cmd_compile)

    i = sub.add_parser("inspect", help="the layer table of a model")
    i.add_argument("model")
    _budget_options(i)
    i.add_argument("--json", action="store_true")
    _input_options(i)
    i.set_defaults(fn=cmd_inspect)

    pl = sub.add_parser("plan", help="the memory plan and budget check: per-layer arena offsets, live bytes")
    pl.add_argument("model")
    _budget_options(pl)
    pl.add_argument("-o", "--output", help="write report.md, report.json and memory.png here")
    pl.add_argument("--json", action="store_true", help="print the report as one JSON document")
    _input_options(pl)
    pl.set_defaults(fn=cmd_plan)

    v = sub.add_parser("validate", help="run the C on the host against the reference and onnxruntime (the TFLite interpreter for .tflite)")
    v.add_argument("model")
    group = v.add_mutually_exclusive_group()
    group.add_argument("--inputs", help="a .npy file of inputs, batch first")
    group.add_argument("--random", type=count, default=100, help="number of random normal inputs (default 100)")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--json", action="store_true")
    _kernels_option(v)
    _input_options(v)
    v.set_defaults(fn=cmd_validate)

    e = sub.add_parser("emulate", help="cross-compile and run the C under QEMU: bit-exact check, instruction counts")
    e.add_argument("model")
    e.add_argument("--target", default="cortex-m4")
    e.add_argument("--inputs", help="a .npy file of inputs, batch first (default: random normal inputs)")
    e.add_argument("-n", type=count, default=None, help="run only the first N inputs (default: all; 10 random)")
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("-o", "--output", default=None, help="keep the compiled C here (default: a temporary folder)")
    e.add_argument("--timeout", type=seconds, default=None, help="seconds QEMU may run (default 120 + 2 per input)")
    e.add_argument("--json", action="store_true")
    _kernels_option(e)
    _input_options(e)
    e.set_defaults(fn=cmd_emulate)

    from .design import command as design_command

    design_command.add_parser(sub)

    t = sub.add_parser("targets", help="list the device targets")
    t.set_defaults(fn=cmd_targets)
    return p


def main(argv=None) -> int:
    try:
        args = parser().parse_args(argv)
        return args.fn(args)
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except EdgebnnError as exc:
        if getattr(exc, "details", None):  # e.g. the table of a model that does not fit
            print(exc.details, file=sys.stderr)
        print(f"edgebnn: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = f" '{exc.filename}'" if getattr(exc, "filename", None) else ""
        print(f"edgebnn: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - last resort: a bug in edgebnn is still one line
        if os.environ.get("EDGEBNN_TRACEBACK"):
            raise
        print(f"edgebnn: internal error: {EdgebnnError(f'{type(exc).__name__}: {exc}')} (a bug in edgebnn: "
              "please report it with the model; EDGEBNN_TRACEBACK=1 shows the traceback)", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
