"""Re-measure the instruction model: ``python -m edgebnn.design.calibrate [--target T ...]``.

Compiles a fixed set of random networks (seeded; they span the kernels and formats the
design space uses, at other widths and rates than the candidates), runs each under QEMU
-icount on the target (Cortex-M0+ code on the Cortex-M3 machine, see qemu.py), and fits the
per-layer model of costmodel.py to the per-layer counts.  Writes calibration.json beside this
file (the targets not re-measured keep their entry).  About a minute per target.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from .. import compiler, targets
from . import costmodel, onnxgen, qemu

CORES = ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33")
SEED = 20240


def _mlp(rng) -> dict:
    side = int(rng.choice([12, 20, 28]))
    layers = [{"op": "dense", "out": int(rng.choice([16, 40, 96, 200, 320])), "rate": float(rng.choice(RATES))}
              for _ in range(int(rng.integers(1, 4)))]
    layers.append({"op": "dense", "out": 10, "rate": float(rng.choice(RATES)), "real": bool(rng.random() < 0.4)})
    return {"family": "mlp", "input": [1, side, side], "classes": 10, "layers": layers}


def _cnn(rng) -> dict:
    side = int(rng.choice([12, 16, 28]))
    real = bool(rng.random() < 0.75)
    layers = [{"op": "conv", "out": int(rng.choice([4, 4, 8, 12, 24])), "k": int(rng.choice([3, 5])),
               "stride": int(rng.choice([1, 2])), "pool": False, "real": real, "rate": 1.0 if real else
               float(rng.choice(RATES))}]
    for _ in range(int(rng.integers(1, 3))):
        layers.append({"op": "conv", "out": int(rng.choice([8, 16, 32, 40, 64])), "k": int(rng.choice([1, 3, 3, 5])),
                       "stride": 1, "pool": bool(rng.random() < 0.6), "rate": float(rng.choice(RATES))})
    layers.append({"op": "dense", "out": 10, "rate": float(rng.choice(RATES))})
    return {"family": "cnn", "input": [1, side, side], "classes": 10, "layers": layers}


RATES = (1.0, 1.0, 0.5, 0.2, 0.1, 0.05)


N = 48


def networks(n: int = N) -> list[dict]:
    rng = np.random.default_rng(SEED)
    # two CNNs per MLP: convolutions have more kernel variants to pin down
    return [(_mlp if i % 3 == 0 else _cnn)(rng) for i in range(n)]


def measure(arch: dict, target: str, seed: int) -> tuple[list, dict]:
    """(per-layer (group, features, instructions) rows, the run's totals)."""
    compiled = compiler.compile(onnxgen.build(arch, seed), target=target, allow_overflow=True)
    x = np.random.default_rng(seed).random((1, *arch["input"])).astype(np.float32)
    stats = qemu.count(compiled, x)
    g = compiled.graph
    rows = [(costmodel.group(op, g), costmodel.features(g, op), n)
            for op, n in zip(g.ops, stats["per_layer_instructions"])]
    return rows, stats


def calibrate(core: str, n: int) -> dict:
    rows = []
    for i, arch in enumerate(networks(n)):
        r, _ = measure(arch, core, SEED + i)
        rows += r
    fitted = costmodel.fit(rows)
    fitted["machine"] = qemu.machine(core)
    fitted["networks"] = n
    return fitted


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", action="append", choices=CORES, help="core to re-measure (default: all)")
    p.add_argument("-n", type=int, default=N, help=f"calibration networks (default {N})")
    args = p.parse_args(argv)
    path = costmodel.CALIBRATION
    data = json.loads(path.read_text()) if path.is_file() else {}
    data.setdefault("cores", {})
    data["unit"] = "instructions under QEMU -icount, not cycles"
    data["command"] = "python -m edgebnn.design.calibrate [--target T]"
    for core in args.target or CORES:
        targets.get(core)
        t0 = time.time()
        data["cores"][core] = calibrate(core, args.n)
        # per C function (the fall-back groups without one mix kernels and fit worse)
        worst = max(v["max_relative_error"] for g, v in data["cores"][core]["fit"].items() if g.count(":") >= 1
                    and not g.endswith(":?") and g.rsplit(":", 1)[1].startswith(("ebnn_", "none")))
        print(f"{core}: {args.n} networks on {data['cores'][core]['machine']} in {time.time() - t0:.0f} s; "
              f"worst per-layer fit error {worst:.1%}", flush=True)
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
