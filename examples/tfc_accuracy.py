"""Compile FINN's TFC-W1A1 to C and measure its MNIST accuracy on the 10,000 test images.

    python examples/tfc_accuracy.py [--target cortex-m4] [-o out_dir]

Prints the accuracy of the emitted C (built for the host and run through edgebnn's harness),
the accuracy of edgebnn's numpy reference, and how many images the two classify differently.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.append(str(HERE.parent))  # a plain checkout works too; an installed edgebnn wins

import edgebnn  # noqa: E402
from mnist_data import load_mnist_test, tfc_inputs  # noqa: E402

MODEL = HERE / "models" / "tfc_w1a1" / "TFC_1W1A.onnx"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="cortex-m4", help="target device (default cortex-m4)")
    parser.add_argument("-o", "--out-dir", default=None, help="where to write the C")
    args = parser.parse_args(argv)

    images, labels = load_mnist_test()
    x = tfc_inputs(images)
    try:
        compiled = edgebnn.compile(str(MODEL), target=args.target, out_dir=args.out_dir)
    except edgebnn.EdgebnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    c_class = np.asarray(compiled.run(x)).argmax(1)
    seconds = time.perf_counter() - start
    ref_class = np.asarray(edgebnn.reference(str(MODEL)).run(x)).argmax(1)

    n = labels.shape[0]
    print(f"model      {MODEL.name} -> {compiled.out_dir} (target {args.target})")
    print(f"C          accuracy {np.mean(c_class == labels):.2%} on {n} images ({seconds:.1f} s)")
    print(f"reference  accuracy {np.mean(ref_class == labels):.2%}")
    print(f"classes differing between C and reference: {int(np.sum(c_class != ref_class))}")
    print("published top-1 (QONNX model zoo): 93.17%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
