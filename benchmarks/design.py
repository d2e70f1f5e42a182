"""The design assistant's estimates against reality, for five proposed candidates.

    python benchmarks/design.py [--target cortex-m3] [--sram 32KiB] [--flash 128KiB] [--json FILE]

For five rows of the Pareto front (MLP, CNN, sparse, ...): estimated flash, SRAM and
instructions per inference against the compiled C (flash from arm-none-eabi-size of the
model's objects, SRAM from the planner and -fstack-usage) and QEMU -icount (instructions,
not cycles) on another random draw of the same architecture.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import edgebnn  # noqa: E402
from edgebnn.cli import _table  # noqa: E402
from edgebnn.design import onnxgen, qemu, search, space  # noqa: E402
from edgebnn.targets import get  # noqa: E402


def five(target, sram, flash) -> list[dict]:
    front = search.pareto(search.run(space.candidates((1, 28, 28), 10), get(target).with_budget(sram, flash)))
    mlp = [r for r in front if r["arch"]["family"] == "mlp"]
    cnn = [r for r in front if r["arch"]["family"] == "cnn"]
    sparse = [r for r in front if {"huffman", "masked"} & set(r["formats"])]
    chosen = []
    for r in (mlp[0], cnn[0], sparse[0], mlp[len(mlp) // 2], cnn[-1]) + tuple(front):
        if r not in chosen:
            chosen.append(r)
    return chosen[:5]


def compare(row: dict, target: str, seed: int) -> dict:
    compiled = edgebnn.compile(onnxgen.build(row["arch"], seed=seed), target=target)
    x = np.random.default_rng(seed).random((1, 1, 28, 28)).astype(np.float32)
    s = qemu.count(compiled, x)
    m = compiled.report["memory"]
    return {"label": row["label"], "flash_estimate": row["flash_bytes"], "flash_size": s["model_flash_bytes"],
            "sram_estimate": row["sram_bytes"], "sram_compiled": m["sram_bytes"],
            "instructions_estimate": row["instructions"], "instructions_qemu": s["instructions_per_inference"],
            "machine": s["machine"], "identical": s["identical"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="cortex-m3")
    p.add_argument("--sram", default="32KiB")
    p.add_argument("--flash", default="128KiB")
    p.add_argument("--json")
    args = p.parse_args(argv)
    rows = [compare(r, args.target, 11 + i) for i, r in enumerate(five(args.target, args.sram, args.flash))]

    def err(a, b):
        return f"{(a - b) / b:+.1%}"

    print(_table([[r["label"], r["flash_estimate"], r["flash_size"], err(r["flash_estimate"], r["flash_size"]),
                   r["sram_estimate"], r["sram_compiled"], err(r["sram_estimate"], r["sram_compiled"]),
                   r["instructions_estimate"], r["instructions_qemu"],
                   err(r["instructions_estimate"], r["instructions_qemu"])] for r in rows],
                 ["candidate", "flash est", "flash size", "err", "SRAM est", "SRAM", "err", "instr est",
                  "instr QEMU", "err"]))
    print(f"{args.target} on QEMU {rows[0]['machine']}; instructions under QEMU -icount, not cycles")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
