"""Whole networks under emulation: instructions per inference on every Cortex-M core, and
where they go layer by layer on cortex-m4.

    python benchmarks/network.py [--target T ...] [--network N ...] [-n N] [--json FILE] [--readme]

Counts are instructions under QEMU -icount (deterministic; instructions, not cycles: loads,
taken branches and LDM/STM cost more cycles on silicon), mean over ``-n`` MNIST test images,
and every run is checked bit for bit against the host build of the same C.  QEMU has no
Cortex-M0+ machine: the M0+ code (ARMv6-M, soft float) runs on the Cortex-M3 machine
(edgebnn/design/qemu.py), so its count is the M0+ code's own.

The per-layer table gives each layer's binary and real MACs, its instructions, binary MACs
per instruction and the share of the MAC-bound limit it reaches: the limit counts 8 binary
MACs per instruction (about the best a core without a popcount instruction does) and one real
MAC per instruction, so 100 % would be a layer running at that bound.
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
import readme_tables  # noqa: E402
from edgebnn.design import qemu  # noqa: E402
from mnist_data import load_mnist_test, tfc_inputs  # noqa: E402

TFC = ROOT / "examples/models/tfc_w1a1/TFC_1W1A.onnx"
NETWORKS = {  # name: (model, input type: float32 pixels in [0, 1] or uint8 codes)
    "TFC-W1A1": (TFC, "float32"),
    "TFC-W1A1, uint8 input": (TFC, "uint8"),
    "xnor_cnn (example)": (ROOT / "examples/models/xnor_cnn/xnor_cnn_dynamo.onnx", "float32"),
    "XNOR CNN 32/64/64": (ROOT / "tests/models/torch/xnor_cnn_pool_bn_dynamo.onnx", "float32"),
}
TARGETS = ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33"]
LAYER_TARGET = "cortex-m4"
BINARY_PER_INSTR, REAL_PER_INSTR = 8, 1  # the MAC-bound limit of the per-layer table


def measure(network: str, target: str, n: int) -> dict:
    images, _ = load_mnist_test()
    model, input_type = NETWORKS[network]
    compiled = edgebnn.compile(model, target=target, allow_overflow=True, input_type=input_type)
    x = tfc_inputs(images[:n]) if input_type == "float32" else images[:n].reshape(n, 1, 28, 28)
    s = qemu.count(compiled, x)
    layers = []
    for op, row, instr in zip(compiled.graph.ops, compiled.report["layers"], s["per_layer_instructions"]):
        kind = "+".join([op.kind] + [e.kind for e in op.epilogues])
        layers.append({"layer": row["name"], "op": kind, "kernel": op.attrs.get("c_kernel", ""),
                       "binary_macs": row["binary_macs"], "real_macs": row["real_macs"], "instructions": instr})
    mem = compiled.report["memory"]
    return {"network": network, "target": target, "machine": s["machine"], "inferences": n,
            "instructions_per_inference": s["instructions_per_inference"], "identical": s["identical"],
            "sram_bytes": mem["sram_bytes"], "flash_bytes": mem["flash_bytes"], "layers": layers}


def speed_table(rows: list[dict], targets: list[str]) -> str:
    by = {(r["network"], r["target"]): r for r in rows}
    networks = list(dict.fromkeys(r["network"] for r in rows))
    body = []
    for name in networks:
        mem = by.get((name, LAYER_TARGET)) or next(r for r in rows if r["network"] == name)
        cells = [f"{by[name, t]['instructions_per_inference']:,}" if (name, t) in by else "–" for t in targets]
        body.append([name, f"{mem['sram_bytes']:,}", f"{mem['flash_bytes']:,}"] + cells)
    head = ["network", f"SRAM B ({mem['target']})", f"flash B ({mem['target']})"] + targets
    return readme_tables.markdown(head, body, right=len(targets) + 2)


def layer_table(rows: list[dict]) -> str:
    body = []
    for r in rows:
        if r["target"] != LAYER_TARGET:
            continue
        for layer in r["layers"]:
            i, b, m = layer["instructions"], layer["binary_macs"], layer["real_macs"]
            bound = b / BINARY_PER_INSTR + m / REAL_PER_INSTR
            body.append([r["network"], f"`{layer['layer']}`", layer["op"], layer["kernel"], f"{b:,}", f"{m:,}",
                         f"{i:,}", f"{b / i:.2f}" if b and i else "–", f"{bound / i:.0%}" if bound and i else "–"])
    head = ["network", "layer", "op (+ fused)", "kernel", "binary MACs", "real MACs", "instructions",
            "binary MACs/instr.", "of MAC bound"]
    return readme_tables.markdown(head, body, right=5)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", action="append", choices=TARGETS, help="a target (repeatable; default: all)")
    p.add_argument("--network", action="append", choices=list(NETWORKS), help="a network (default: all)")
    p.add_argument("-n", type=int, default=3, help="MNIST test images per run (default 3)")
    p.add_argument("--json", help="also write the rows to this JSON file")
    p.add_argument("--readme", action="store_true", help="rewrite the README's network tables")
    args = p.parse_args(argv)
    targets = args.target or TARGETS
    rows = [measure(net, t, args.n) for net in (args.network or NETWORKS) for t in targets]
    speed, layers = speed_table(rows, targets), layer_table(rows)
    print(speed, "", layers, sep="\n")
    print("instructions under QEMU -icount (not cycles), mean over the inputs; cortex-m0plus code runs on "
          "the cortex-m3 machine")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    if args.readme:
        readme_tables.write("network-speed", speed)
        readme_tables.write("network-layers", layers)
    bad = [f"{r['network']} on {r['target']}" for r in rows if not r["identical"]]
    if bad:
        print("NOT bit-exact against the host build: " + ", ".join(bad), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
