"""--train: train the top candidates briefly on the bundled MNIST, compile each trained model
for the target, and add its accuracy (held-out 2,000 images) and compiled sizes to its row."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from .. import compiler
from ..errors import EdgebnnError
from . import emit


def add_accuracy(rows: list[dict], tgt, epochs: int) -> dict[str, bytes]:
    try:
        from . import trainer
    except ImportError:
        raise EdgebnnError("--train needs PyTorch: pip install 'edgebnn[train]'") from None
    data = emit.mnist_folder()
    if data is None:
        raise EdgebnnError("--train needs the bundled MNIST files (examples/data/mnist of a source checkout)")
    x, y = trainer.load_mnist(data)
    held_x, held_y = x[trainer.TRAIN:].numpy(), y[trainer.TRAIN:].numpy()
    out = {}
    with tempfile.TemporaryDirectory(prefix="edgebnn-train-") as tmp:
        for i, row in enumerate(rows):
            model, acc = trainer.train(row["arch"], data, epochs)
            path = Path(tmp) / f"trained_{i + 1}.onnx"
            trainer.export(model, path)
            _, _, rep = compiler.analyse(str(path), tgt)
            logits = compiler.reference(str(path)).run(held_x)
            row["accuracy_pytorch"] = acc
            row["accuracy"] = float(np.mean(np.argmax(logits, axis=1) == held_y))  # the compiled network's
            row["trained"] = {"file": path.name, "flash_bytes": rep["memory"]["flash_bytes"],
                              "sram_bytes": rep["memory"]["sram_bytes"], "fits": rep["budget"]["fits"]}
            print(f"trained #{i + 1} {row['label']}: accuracy {row['accuracy']:.2%} (compiled; PyTorch {acc:.2%}), "
                  f"flash {rep['memory']['flash_bytes']} B, SRAM {rep['memory']['sram_bytes']} B", flush=True)
            out[path.name] = path.read_bytes()
    return out
