"""Inner-loop work against sparsity: one sparse binary layer at several connection rates,
emulated on a Cortex-M.

    python benchmarks/sparsity.py [--target cortex-m4] [--json FILE] [--readme]

For a dense layer K=1024 -> 256 and a 3x3 conv 64 -> 64 on 16x16, in the pruned bipolar
form, at 0 % (dense binary), 50 %, 90 % and 95 % sparsity: connections pruned at random
with the weights stored for size (``--weights size``, the default) and for speed
(``--weights speed``), and whole words of 32 input channels pruned: the layer's
instructions per inference under QEMU -icount (instructions, not cycles), its weight format
and its bits per weight.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import edgebnn  # noqa: E402
import readme_tables  # noqa: E402
from sparse_builders import build_sparse_cnn, build_sparse_mlp  # noqa: E402

SPARSITIES = (0.0, 0.5, 0.9, 0.95)


# (pruning, weights policy) at each sparsity above 0: random connections stored for size and
# for speed, and whole 32-channel words pruned (3PXNet-style), which the word list skips.
CASES = (("random", "size"), ("random", "speed"), ("words", "speed"))
BLOCK = {"random": 1, "words": 32}


def _layer(kind: str, sparsity: float, pruning: str):
    rng, block = np.random.default_rng(0), BLOCK[pruning]
    if kind == "dense 1024->256":
        return build_sparse_mlp(rng, 1 - sparsity, "pruned", dims=(1024, 256, 8), block=block), "bdense", 1024 * 256
    built = build_sparse_cnn(rng, 1 - sparsity, "pruned", c0=64, hw=(18, 18), channels=(64,), pad=0, block=block)
    return built, "bconv", 16 * 16 * 64 * 64 * 9


def measure(kind: str, sparsity: float, pruning: str, weights: str, target: str) -> dict:
    built, op, macs = _layer(kind, sparsity, pruning)
    compiled = edgebnn.compile(built.model, target=target, allow_overflow=True, weights=weights)
    x = np.random.default_rng(1).normal(size=(2,) + built.input_shape[1:]).astype(np.float32)
    _, stats = compiled.emulate(x)
    layers = compiled.report["layers"]
    i = next(i for i, r in enumerate(layers) if r["op"] == op and r["binary_macs"] == macs)
    return {"layer": kind, "sparsity": sparsity, "target": target, "pruning": pruning, "weights": weights, "format": layers[i]["format"],
            "bits_per_weight": layers[i]["bits_per_weight"], "binary_macs": macs,
            "instructions": stats["per_layer_instructions"][i], "identical": stats["identical"]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="cortex-m4")
    p.add_argument("--json", help="also write the rows to this JSON file")
    p.add_argument("--readme", action="store_true", help="rewrite the README's sparsity table")
    args = p.parse_args(argv)
    rows = [measure(k, s, *case, args.target) for k in ("dense 1024->256", "conv3x3 64->64 16x16")
            for s in SPARSITIES for case in (CASES[:1] if s == 0 else CASES)]
    head = ["layer", "sparsity", "pruned", "weights", "format", "bits/weight", "binary MACs", "instructions",
            "MACs/instr.", "bit-exact"]
    text = readme_tables.markdown(head, [
        [r["layer"], f"{r['sparsity']:.0%}", r["pruning"] if r["sparsity"] else "–", r["weights"], r["format"],
         f"{r['bits_per_weight']:.3f}", f"{r['binary_macs']:,}", f"{r['instructions']:,}",
         f"{r['binary_macs'] / r['instructions']:.2f}", "yes" if r["identical"] else "NO"] for r in rows], right=4)
    print(text)
    if args.readme:
        readme_tables.write("sparsity", text)
    print(f"instructions of the layer per inference under QEMU -icount on {args.target} (instructions, not cycles)")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0 if all(r["identical"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
