"""Whole-network figures under emulation: TFC-W1A1 on each Cortex-M target.

    python benchmarks/network.py [--target T] [--input-type float32|uint8|both] [--json FILE] [-n N]

Per target: instructions per inference under QEMU -icount (instructions, not cycles: loads,
taken branches and LDM/STM cost more cycles on silicon), and flash and RAM from
arm-none-eabi-size, for the whole firmware image and for the model's own objects.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))

import edgebnn  # noqa: E402
from edgebnn.cli import _table  # noqa: E402
from edgebnn.errors import EdgebnnError  # noqa: E402
from mnist_data import load_mnist_test, tfc_inputs  # noqa: E402

MODELS = {"tfc_w1a1": ROOT / "examples" / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"}
TARGETS = ["cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33"]


def measure(model: str, target: str, n: int, input_type: str = "float32") -> dict:
    images, _ = load_mnist_test()
    compiled = edgebnn.compile(MODELS[model], target=target, input_type=input_type)
    x = tfc_inputs(images[:n]) if input_type == "float32" else images[:n].reshape(n, 1, 28, 28)
    _, s = compiled.emulate(x)
    return {"model": model, "target": target, "input": input_type,
            "sram_bytes": compiled.report["memory"]["sram_bytes"], "machine": s["machine"], "inferences": n,
            "instructions_per_inference": s["instructions_per_inference"],
            "instructions_min": s["instructions_min"], "instructions_max": s["instructions_max"],
            "unit": s["unit"], "flash_bytes": s["flash_bytes"], "ram_bytes": s["ram_bytes"],
            "model_flash_bytes": s["model_flash_bytes"], "model_ram_bytes": s["model_ram_bytes"],
            "identical": s["identical"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", choices=TARGETS, help="one target (default: all four)")
    p.add_argument("--json", help="also write the rows to this JSON file")
    p.add_argument("-n", type=int, default=10, help="MNIST test images per target (default 10)")
    p.add_argument("--input-type", choices=["float32", "uint8", "both"], default="both",
                   help="TFC's input: float32 pixels in [0, 1], uint8 codes, or both (default)")
    args = p.parse_args(argv)
    kinds = ["float32", "uint8"] if args.input_type == "both" else [args.input_type]
    try:
        rows = [measure(m, t, args.n, k) for m in MODELS for t in ([args.target] if args.target else TARGETS)
                for k in kinds]
    except EdgebnnError as exc:
        print(f"network.py: {exc}", file=sys.stderr)
        return 2
    print(_table([[r["model"], r["input"], r["target"], r["machine"], r["instructions_per_inference"],
                   r["flash_bytes"], r["ram_bytes"], r["model_flash_bytes"], r["model_ram_bytes"], r["sram_bytes"],
                   "yes" if r["identical"] else "NO"] for r in rows],
                 ["model", "input", "target", "QEMU", "instructions/inference", "image flash B", "image RAM B",
                  "model flash B", "model RAM B", "report SRAM B", "bit-exact"]))
    print("instructions/inference: instructions under QEMU -icount, not cycles (mean over the inputs); "
          "sizes from arm-none-eabi-size (image: firmware with newlib stdio; model: the emitted C's objects); "
          "report SRAM: report.json memory.sram_bytes (arena + stack + input/output + statics)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
