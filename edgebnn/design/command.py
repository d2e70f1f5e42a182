"""``edgebnn design``: the options, the table, the output folder."""
from __future__ import annotations

import time

from .. import outdir, targets
from ..errors import EdgebnnError
from ..report import jsontext
from ..report import markdown as report_md
from . import arch as archs
from . import plot, search, space

SHOW = 15  # rows of the front printed


def add_parser(sub) -> None:
    d = sub.add_parser("design", help="propose binary / sparse-binary networks that fit a target's budgets")
    d.add_argument("--target", default="cortex-m4", help="device (see `edgebnn targets`; default cortex-m4)")
    d.add_argument("--input", default="1x28x28", help="input shape CxHxW (default 1x28x28)")
    d.add_argument("--classes", type=int, default=10)
    d.add_argument("--family", choices=("mlp", "cnn"), help="only MLPs or only CNNs (default both)")
    d.add_argument("--sram", help="SRAM budget instead of the target's: bytes, or 16KiB, 512K")
    d.add_argument("--flash", help="flash budget instead of the target's: bytes, or 64KiB, 1MiB")
    d.add_argument("--max-instructions", type=int, help="instructions per inference (QEMU -icount model)")
    d.add_argument("-o", "--output", default="design", help="folder for design.png and candidates.json (default design)")
    d.add_argument("--emit", metavar="DIR", help="write the chosen candidate's ONNX skeleton and training script here")
    d.add_argument("--pick", type=int, default=1, help="the front row --emit writes (default 1: the largest)")
    d.add_argument("--train", action="store_true", help="train the top candidates on bundled MNIST (needs torch)")
    d.add_argument("--train-top", type=int, default=3, help="how many front rows --train trains (default 3)")
    d.add_argument("--epochs", type=int, default=3)
    d.add_argument("--json", action="store_true", help="print the front as one JSON document")
    d.set_defaults(fn=run)


def _row(i, r, with_accuracy: bool) -> list:
    row = [i + 1, r["label"], r["params"], r["connections"], r["macs"], r["flash_bytes"], r["sram_bytes"],
           r["instructions"], "/".join(r["formats"])]
    if with_accuracy:
        row.append(f"{r['accuracy']:.2%}" if "accuracy" in r else "-")
    return row


def table(front: list[dict]) -> str:
    head = ["#", "architecture", "params", "connections", "MACs", "flash B", "SRAM B", "instructions", "formats"]
    acc = any("accuracy" in r for r in front)
    if acc:
        head.append("accuracy (compiled, held-out 2,000)")
    return report_md.text_table([_row(i, r, acc) for i, r in enumerate(front[:SHOW])], head)


def run(args) -> int:
    tgt = targets.get(args.target).with_budget(args.sram, args.flash)
    for folder in (args.output, args.emit):  # before the search: it takes minutes
        if folder is not None:
            outdir.check(folder)
    shape = archs.parse_input(args.input)
    if args.max_instructions is not None and args.max_instructions < 1:
        raise EdgebnnError(f"--max-instructions {args.max_instructions}: give a positive count")
    cands = space.candidates(shape, args.classes, args.family)
    t0 = time.time()
    rows = search.run(cands, tgt, args.max_instructions)
    search.check_fits(rows, tgt, args.max_instructions)
    front = search.pareto(rows)
    if not 1 <= args.pick <= len(front):
        raise EdgebnnError(f"--pick {args.pick}: the front has {len(front)} rows")
    trained = {}
    if args.train:
        from . import training

        trained = training.add_accuracy(front[: args.train_top], tgt, args.epochs)
    files = {"candidates.json": jsontext.dumps({"target": tgt.name, "sram_bytes": tgt.sram_bytes,
                                            "flash_bytes": tgt.flash_bytes, "max_instructions": args.max_instructions,
                                            "unit": "instructions under QEMU -icount (model), not cycles",
                                            "front": front, "candidates": rows}, indent=1) + "\n",
             "design.png": plot.png(rows, front, tgt, args.max_instructions)}
    files.update(trained)
    outdir.write(args.output, files)
    if args.emit:
        from . import emit

        outdir.write(args.emit, emit.files(front[args.pick - 1]))
    if args.json:
        print(jsontext.dumps({"target": tgt.name, "front": front}, indent=1))
        return 0
    skipped = sum("skipped" in r for r in rows)
    fits = sum(r["fits"] for r in rows)
    print(table(front))
    print(f"{len(cands)} candidates for {'x'.join(map(str, shape))} -> {args.classes} on {tgt.name} "
          f"(SRAM {tgt.sram_bytes} B, flash {tgt.flash_bytes} B"
          f"{', ' + str(args.max_instructions) + ' instructions' if args.max_instructions else ''}): {fits} fit, "
          f"{skipped} over budget before estimating, {len(front)} on the Pareto front"
          f"{' (first ' + str(SHOW) + ' shown)' if len(front) > SHOW else ''}; {time.time() - t0:.0f} s")
    print("flash/SRAM: the compiler's passes and planner on each candidate (random weights at its connection "
          "rates); instructions: per-layer model calibrated on QEMU -icount counts (instructions, not cycles)")
    print(f"wrote {args.output}/design.png, candidates.json" + (f"; {args.emit}/skeleton.onnx, train.py" if args.emit else ""))
    return 0
