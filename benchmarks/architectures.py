"""The published binary architectures of tests/models that compile, as the compiler reports
them for cortex-m4: binary and real MACs, flash and SRAM (bytes), SRAM also as it would be
with every op storing its output (no fused epilogues: ``compiler.analyse(..., fuse=False)``).

    python benchmarks/architectures.py            # print the table
    python benchmarks/architectures.py --readme   # also rewrite the README's table

Each row is a real exporter's file (PyTorch's two exporters, Larq through tf2onnx), reduced
in width and input size (tests/models/README.md); the test suite checks each against
onnxruntime.  Figures are the compiler's report: nothing here is typed by hand.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from edgebnn import compiler  # noqa: E402
import readme_tables  # noqa: E402
from test_exported_models import LARQ, MODELS, TORCH  # noqa: E402

XNOR_CNN = ["xnor_cnn_pool_bn_torchscript.onnx", "xnor_cnn_pool_bn_dynamo.onnx"]  # pooling before BN


def rows(target: str) -> list[list]:
    out = []
    for family, names in (("torch", TORCH + XNOR_CNN), ("larq", LARQ)):
        for name in names:
            path = MODELS / family / name
            rep = compiler.analyse(path, target=target)[2]
            unfused = compiler.analyse(path, target=target, fuse=False)[2]["memory"]["sram_bytes"]
            t, m = rep["totals"], rep["memory"]
            share = t["binary_macs"] / max(1, t["binary_macs"] + t["real_macs"])
            out.append([f"`{family}/{name}`", "x".join(map(str, rep["input_shape"][1:])), f"{t['binary_macs']:,}",
                        f"{t['real_macs']:,}", f"{share:.0%}", f"{m['flash_bytes']:,}", f"{unfused:,}",
                        f"{m['sram_bytes']:,}"])
    return out


def table(target: str) -> str:
    head = ["model", "input", "binary MACs", "real MACs", "binary share", "flash B", "SRAM B unfused",
            "SRAM B"]
    return readme_tables.markdown(head, rows(target))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--target", default="cortex-m4")
    p.add_argument("--readme", action="store_true", help="rewrite the table in README.md")
    args = p.parse_args()
    text = table(args.target)
    print(text)
    if args.readme:
        readme_tables.write("architectures", text)


if __name__ == "__main__":
    main()
